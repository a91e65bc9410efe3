// Starts `causal lsp` (stdio) for .causal files. Plain CommonJS: no build step; run
// `npm install --omit=dev` in this folder once to fetch vscode-languageclient.
"use strict";
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function start(context) {
  const config = vscode.workspace.getConfiguration("causal");
  const [command, ...args] = config.get("server.command", ["causal", "lsp"]);
  const server = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient(
    "causal",
    "Causal language server",
    { run: server, debug: server },
    {
      documentSelector: [{ language: "causal" }],
      initializationOptions: { debounce: config.get("server.debounce", 0.3) },
    },
  );
  return client.start();
}

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("causal.restartServer", async () => {
      if (client) await client.stop();
      await start(context);
    }),
  );
  return start(context);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
