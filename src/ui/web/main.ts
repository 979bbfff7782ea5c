// The web UI's entry: a hash router over the fleet, host and alerts pages, and the login form shown
// whenever the server answers 401.
import { alertsPage } from "./alerts.ts";
import { getJson, NeedLogin, postJson, whenLoggedOut } from "./api.ts";
import { h, show } from "./dom.ts";
import { fleetPage } from "./fleet.ts";
import { hostHash, hostPage, parseHostView, type HostView } from "./host.ts";

const app = document.getElementById("app")!;
const nav = document.getElementById("nav")!;
let stopPage: () => void = () => {};
let rendering = 0;

function loginForm(message?: string): void {
  nav.hidden = true;
  const secret = h("input", { type: "password", id: "secret", name: "secret", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", id: "login-error", role: "alert" }, message ?? "");
  const button = h("button", { type: "submit" }, "Log in");
  const form = h(
    "form",
    {
      class: "login",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        const reply = await postJson("login", { secret: secret.value }).catch((err: Error) => ({ ok: false, status: 0, error: err.message }));
        button.disabled = false;
        if (reply.ok) return void render();
        error.textContent = reply.status === 401 ? "Wrong operator secret." : (reply.error ?? "Login failed.");
        secret.select();
      },
    },
    h("h1", {}, "Log in"),
    h("p", {}, "Use the operator secret of this server (the file server.operator_secret_file, by default operator.secret in the server's data directory)."),
    h("label", { for: "secret" }, "Operator secret"),
    secret,
    button,
    error,
  );
  show(app, form);
  secret.focus();
}

async function render(): Promise<void> {
  const mine = ++rendering;
  stopPage();
  stopPage = () => {};
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  const parts = (path || "/").split("/").filter(Boolean);
  try {
    // asked first so that a logged-out visit makes no refused request
    const session = await getJson<{ logged_in: boolean }>("session");
    if (mine !== rendering) return;
    if (!session.logged_in) return loginForm();
    nav.hidden = false;
    let stop: () => void;
    if (parts[0] === "host" && parts[1]) {
      const view = parseHostView(decodeURIComponent(parts[1]), params);
      document.title = `${view.host} · pmon`;
      stop = await hostPage(app, view, (next: HostView) => (location.hash = hostHash(next)));
    } else if (parts[0] === "alerts") {
      document.title = "Alerts · pmon";
      stop = await alertsPage(app);
    } else {
      document.title = "Fleet · pmon";
      stop = await fleetPage(app);
    }
    if (mine === rendering) stopPage = stop;
    else stop();
  } catch (e) {
    if (mine !== rendering) return;
    if (e instanceof NeedLogin) return; // the login form is already shown
    show(app, h("p", { class: "error", role: "alert" }, `Could not load this page: ${(e as Error).message}`));
  }
}

document.getElementById("logout")!.addEventListener("click", async () => {
  stopPage();
  stopPage = () => {};
  await postJson("logout", {});
  loginForm("Logged out.");
});
whenLoggedOut(() => {
  stopPage();
  stopPage = () => {};
  rendering++;
  loginForm("Your session has ended: log in again.");
});
addEventListener("hashchange", () => void render());
void render();
