// Text from hosts (command lines, device names, errors) printed to an operator's terminal: control
// characters and bidi overrides are shown escaped, so a process cannot move the cursor, retitle the
// window, ring the bell or make text read backwards (`\x1b`, `\u202e`).

// C0 controls, DEL, C1 controls; bidi embeddings/overrides U+202A-202E and isolates U+2066-2069
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 controls but leaves DEL, C1 and bidi overrides raw;
 * these become \uXXXX escapes too (still the same JSON).
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
