// Plain-text tables with optional ANSI colour. Widths are measured on the plain text, so colour
// never shifts columns, and piped output carries no escape codes at all.

import { escapeControls } from "../util/terminal.ts";

export type Align = "left" | "right";
export type Colour = "red" | "green" | "yellow" | "dim" | "bold" | undefined;

export interface Column<R> {
  title: string;
  align?: Align;
  /** the cell text */
  text: (row: R) => string;
  /** the colour of the cell, when colour is on */
  colour?: (row: R) => Colour;
  /** cut longer text to this many characters (with "…") */
  maxWidth?: number;
}

const ANSI: Record<Exclude<Colour, undefined>, [string, string]> = {
  red: ["\x1b[31m", "\x1b[39m"],
  green: ["\x1b[32m", "\x1b[39m"],
  yellow: ["\x1b[33m", "\x1b[39m"],
  dim: ["\x1b[2m", "\x1b[22m"],
  bold: ["\x1b[1m", "\x1b[22m"],
};

function paint(text: string, colour: Colour, enabled: boolean): string {
  if (!enabled || !colour) return text;
  const [on, off] = ANSI[colour];
  return on + text + off;
}

function clip(text: string, max?: number): string {
  const oneLine = escapeControls(text.replace(/[\r\n\t]+/g, " "));
  if (max === undefined || oneLine.length <= max) return oneLine;
  return oneLine.slice(0, Math.max(0, max - 1)) + "…";
}

/** Columns separated by two spaces; trailing spaces trimmed; ends with a newline. */
export function renderTable<R>(columns: readonly Column<R>[], rows: readonly R[], opts: { colour: boolean }): string {
  const cells = rows.map((r) => columns.map((c) => clip(c.text(r), c.maxWidth)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const last = columns.length - 1;
  const pad = (text: string, i: number) =>
    columns[i]!.align === "right" ? text.padStart(widths[i]!) : i === last ? text : text.padEnd(widths[i]!);
  const header = columns.map((c, i) => paint(pad(c.title, i), "bold", opts.colour)).join("  ");
  const body = cells.map((row, r) =>
    row
      .map((text, i) => paint(pad(text, i), columns[i]!.colour?.(rows[r]!), opts.colour))
      .join("  ")
      .trimEnd(),
  );
  return [header.trimEnd(), ...body].join("\n") + "\n";
}
