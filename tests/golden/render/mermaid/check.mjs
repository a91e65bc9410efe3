// Parse Mermaid diagrams with real Mermaid releases under Node, with jsdom as the DOM that
// Mermaid's label sanitiser (DOMPurify) needs.
// Usage: node check.mjs mermaid10 mermaid11 < diagrams.json
// In: a JSON array of diagram texts on stdin. Out: a JSON object mapping each package named on
// the command line to an array with null for each diagram that parses and the parser's message
// for each that does not. Used by tests/test_render.py.
import { JSDOM } from 'jsdom';
import fs from 'fs';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;

const diagrams = JSON.parse(fs.readFileSync(0, 'utf8'));
const result = {};
for (const name of process.argv.slice(2)) {
  const mermaid = (await import(name)).default;
  const out = [];
  for (const text of diagrams) {
    try {
      await mermaid.parse(text);
      out.push(null);
    } catch (e) {
      out.push(String(e && e.message ? e.message : e));
    }
  }
  result[name] = out;
}
// Exit explicitly: jsdom and Mermaid leave timers behind that keep Node alive for seconds.
process.stdout.write(JSON.stringify(result), () => process.exit(0));
