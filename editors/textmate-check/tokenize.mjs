// Tokenise .causal texts with VS Code's TextMate engine: stdin is JSON {"grammar": path,
// "texts": [..]}; stdout is JSON, per text a list of lines, per line
// {"tokens": [[start, end, [scopes...]], ...], "open": depth of the rule stack at its end}.
// "open" > 0 means a begin/end region was left unclosed at the end of that line.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import vsctm from "vscode-textmate";
import oniguruma from "vscode-oniguruma";

const require = createRequire(import.meta.url);
const input = JSON.parse(readFileSync(0, "utf8"));
const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
await oniguruma.loadWASM(wasm);
const registry = new vsctm.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async () =>
    vsctm.parseRawGrammar(readFileSync(input.grammar, "utf8"), input.grammar),
});
const grammar = await registry.loadGrammar("source.causal");

function depth(stack) {
  let n = 0;
  for (let s = stack; s && s.parent; s = s.parent) n++;
  return n;
}

const base = depth(vsctm.INITIAL);
const out = input.texts.map((text) => {
  let stack = vsctm.INITIAL;
  return text.split("\n").map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return {
      tokens: r.tokens.map((t) => [t.startIndex, Math.min(t.endIndex, line.length), t.scopes]),
      open: depth(stack) - base,
    };
  });
});
process.stdout.write(JSON.stringify(out));
