// Shared helpers of the node test scripts: JSON on stdin, JSON on stdout, errors as data.

import { readFileSync } from "node:fs";

export function readInput() {
  const text = readFileSync(0, "utf8");
  return text.trim() ? JSON.parse(text) : {};
}

export function writeOutput(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/** Run fn; {ok: true, value} or {ok: false, error_name, error_message, where, code}. */
export function attempt(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (exc) {
    return {
      ok: false,
      error_name: exc?.name ?? String(exc),
      error_message: exc?.message ?? String(exc),
      error_detail: exc?.detail ?? null,
      where: exc?.where ?? null,
      code: exc?.code ?? null,
    };
  }
}
