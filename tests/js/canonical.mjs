// Canonical JSON (SPEC §1) of the documents on stdin, for tests/test_js_crypto.py.
// stdin: {"documents": [...]}; stdout: {"canonical": ["<text>" | {"error": "<name>: <message>"}, ...]}

import { canonicalJsonText } from "../../kiosk/static/js/crypto/hashing.js";
import { attempt, readInput, writeOutput } from "./_io.mjs";

const { documents = [] } = readInput();
writeOutput({
  canonical: documents.map((doc) => {
    const r = attempt(() => canonicalJsonText(doc));
    return r.ok ? r.value : { error: `${r.error_name}: ${r.error_message}` };
  }),
});
