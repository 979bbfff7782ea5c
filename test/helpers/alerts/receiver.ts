// A real local HTTP receiver standing in for WeCom/DingTalk/Feishu/webhook endpoints: records every
// POST and answers from a script (HTTP errors, robot error codes) so retries can be tested.
export interface Received {
  path: string;
  query: URLSearchParams;
  body: any;
  at: number;
}

export interface Answer {
  status?: number;
  body?: unknown;
}

export interface Receiver {
  url: string;
  posts: Received[];
  /** answers for the next requests, in order; after that `fallback` */
  script: Answer[];
  fallback: Answer;
  /** posts whose body text contains `s` */
  matching(s: string): Received[];
  waitFor(pred: (posts: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startReceiver(fallback: Answer = { body: { errcode: 0, errmsg: "ok" } }): Receiver {
  const r: Receiver = {
    url: "",
    posts: [],
    script: [],
    fallback,
    matching: (s) => r.posts.filter((p) => JSON.stringify(p.body).includes(s)),
    async waitFor(pred, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      while (!pred(r.posts)) {
        if (Date.now() > end) throw new Error(`receiver: condition not met within ${timeoutMs} ms; got ${r.posts.length} post(s): ${JSON.stringify(r.posts.map((p) => p.body)).slice(0, 2000)}`);
        await Bun.sleep(20);
      }
    },
    stop: async () => {
      await server.stop(true);
    },
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const text = await req.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      r.posts.push({ path: u.pathname, query: u.searchParams, body, at: Date.now() });
      const a = r.script.shift() ?? r.fallback;
      return new Response(JSON.stringify(a.body ?? {}), { status: a.status ?? 200, headers: { "content-type": "application/json" } });
    },
  });
  r.url = `http://127.0.0.1:${server.port}`;
  return r;
}

/** A logger-compatible sink that keeps every line, to check what logs say (and do not say). */
export function captureLogger() {
  const lines: string[] = [];
  const log: any = {
    withTag: () => log,
    info: (...a: unknown[]) => lines.push(a.join(" ")),
    warn: (...a: unknown[]) => lines.push(a.join(" ")),
    error: (...a: unknown[]) => lines.push(a.join(" ")),
    debug: (...a: unknown[]) => lines.push(a.join(" ")),
    trace: (...a: unknown[]) => lines.push(a.join(" ")),
    log: (...a: unknown[]) => lines.push(a.join(" ")),
  };
  return { log, lines };
}
