// Python's repr() of strings and lists of strings, for error messages that must read exactly as
// the Python core's (keys/credentials.py and ballot/encrypt.py put repr() into messages).

// Python's str.isprintable() is false for these general categories (space excepted).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function escapeChar(ch, quote) {
  if (ch === quote || ch === "\\") return "\\" + ch;
  if (ch === "\t") return "\\t";
  if (ch === "\n") return "\\n";
  if (ch === "\r") return "\\r";
  const cp = ch.codePointAt(0);
  if (cp < 0x7f && cp >= 0x20) return ch;
  if (ch !== " " && NON_PRINTABLE.test(ch)) {
    if (cp < 0x100) return "\\x" + cp.toString(16).padStart(2, "0");
    if (cp < 0x10000) return "\\u" + cp.toString(16).padStart(4, "0");
    return "\\U" + cp.toString(16).padStart(8, "0");
  }
  return cp === 0x7f ? "\\x7f" : ch;
}

/** Python's repr(s) for a str. */
export function reprString(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) out += escapeChar(ch, quote);
  return out + quote;
}

/** Python's repr(list) for a list of strings, e.g. "['a', 'b']". */
export function reprList(items) {
  return "[" + items.map(reprString).join(", ") + "]";
}

/** Python's sorted() order for strings: by code point. */
export function sortCodePoints(items) {
  return [...items].sort((a, b) => {
    const x = [...a].map((c) => c.codePointAt(0));
    const y = [...b].map((c) => c.codePointAt(0));
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  });
}

/** Python's repr() of a JSON value (str, int, bool, None, list, dict), for messages that embed one. */
export function pyRepr(value) {
  if (typeof value === "string") return reprString(value);
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pyFloat(value);
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return "[" + value.map(pyRepr).join(", ") + "]";
  if (typeof value === "object") {
    return "{" + Object.entries(value).map(([k, v]) => `${reprString(k)}: ${pyRepr(v)}`).join(", ") + "}";
  }
  return String(value);
}

function pyFloat(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return String(x);
}

/** Python's type(value).__name__ of a JSON value. */
export function pyTypeName(value) {
  if (value === null || value === undefined) return "NoneType";
  if (Array.isArray(value)) return "list";
  switch (typeof value) {
    case "string": return "str";
    case "boolean": return "bool";
    case "number": return Number.isInteger(value) ? "int" : "float";
    case "bigint": return "int";
    case "object": return "dict";
    default: return typeof value;
  }
}
