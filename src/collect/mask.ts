// Secrets in command lines never leave the host: values after sensitive words are replaced before a
// report is built, so neither the server, the database, Grafana nor `pmon top` ever sees them.
// Covered: `--password=x`, `--password x`, `PASSWORD=x` (environment style), `-pSECRET` of the
// MySQL/MariaDB clients, and `user:pw@` in URLs. The default words follow Datadog's process agent;
// agent.sensitive_words adds more.

export const MASK = "********";

/** Always masked, whatever the configuration says. */
export const DEFAULT_SENSITIVE_WORDS: readonly string[] = [
  "password",
  "passwd",
  "pwd",
  "mysql_pwd",
  "secret",
  "token",
  "access_token",
  "auth_token",
  "api_key",
  "apikey",
  "credentials",
];

// scheme://user:password@host -> scheme://user:********@host; up to the authority's last "@", so a
// password holding "@" is masked whole
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/]*@/gi;

export interface Masker {
  /** The arguments with every secret replaced by MASK (a new array; unchanged arguments are reused). */
  maskArgs(args: readonly string[]): string[];
}

export function createMasker(extraWords: readonly string[] = []): Masker {
  const words = [...new Set([...DEFAULT_SENSITIVE_WORDS, ...extraWords].map(normalise).filter(Boolean))];
  /** "--db-password", "MYSQL_PWD", "apiKey" -> sensitive when it contains a word */
  const sensitive = (key: string) => {
    const k = normalise(key);
    return k !== "" && words.some((w) => k.includes(w));
  };

  /** One token: key=value / key:value forms and URL credentials; `maskNext` when the value follows as the next token. */
  const maskToken = (token: string, mysqlClient: boolean): { text: string; maskNext: boolean } => {
    let text = token.replace(URL_CREDENTIALS, `$1:${MASK}@`);
    const eq = text.search(/[=:]/);
    if (eq > 0 && !text.slice(0, eq + 3).includes("://") && sensitive(text.slice(0, eq))) {
      text = text.slice(0, eq + 1) + MASK;
      return { text, maskNext: false };
    }
    // mysql -pSECRET (but -p alone prompts, and -P is the port)
    if (mysqlClient && /^-p.+/.test(text)) return { text: `-p${MASK}`, maskNext: false };
    if (eq < 0 && /^-{0,2}[A-Za-z]/.test(text) && sensitive(text)) return { text, maskNext: true };
    return { text, maskNext: false };
  };

  /** Masks a list of words; the first is a program. Words holding spaces (sh -c '...', titles) are masked word by word. */
  const maskList = (tokens: readonly string[]): string[] => {
    const out: string[] = [];
    let maskNext = false;
    let mysqlClient = false;
    for (const [i, t] of tokens.entries()) {
      if (maskNext && t !== "") {
        out.push(MASK);
        maskNext = false;
        continue;
      }
      if (/\s/.test(t.trim())) {
        out.push(maskSpaced(t, maskList));
        continue;
      }
      // A program name (the first word, or one a shell runs): its own name hides nothing.
      const name = t.split("/").pop() ?? "";
      if (!t.includes("=") && (i === 0 || /^(mysql|mariadb)/i.test(name))) {
        mysqlClient = /^(mysql|mariadb)/i.test(name);
        out.push(t.replace(URL_CREDENTIALS, `$1:${MASK}@`));
        continue;
      }
      const r = maskToken(t, mysqlClient);
      out.push(r.text);
      maskNext = r.maskNext;
    }
    return out;
  };

  return {
    maskArgs: (args) => maskList(args),
  };
}

/** Masks the whitespace-separated words of one string, keeping its spacing. */
function maskSpaced(s: string, maskList: (tokens: string[]) => string[]): string {
  const parts = s.split(/(\s+)/);
  const words = parts.filter((_, i) => i % 2 === 0);
  const masked = maskList(words);
  return parts.map((p, i) => (i % 2 === 0 ? masked[i / 2]! : p)).join("");
}

function normalise(word: string): string {
  return word.toLowerCase().replace(/^-+/, "").replaceAll("-", "_");
}
