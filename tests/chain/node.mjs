#!/usr/bin/env node
// Starts the local Ethereum node of the tests (Hardhat, configured by hardhat.config.js in
// this folder) on 127.0.0.1:PORT and waits until it answers eth_chainId.
//
//   node tests/chain/node.mjs 8545            # prints "ready http://127.0.0.1:8545 chainId=1337 in 1017 ms"
//   node tests/chain/node.mjs 8545 --watch-stdin
//
// The node runs until this process gets SIGINT/SIGTERM/SIGHUP (it is stopped with it) or
// the node exits (this process exits with its code). With --watch-stdin the node is also
// stopped when stdin reaches end of file: a test fixture hands over a pipe, so the node
// never outlives a test binary that crashed. Hardhat's own output goes to stderr; stdout
// carries only the "ready" line. Exit 1 when the node does not answer within 60 s.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const watchStdin = args.includes("--watch-stdin");
const portArg = args.find((a) => !a.startsWith("--"));
if (!portArg || !/^[1-9][0-9]{0,4}$/.test(portArg) || Number(portArg) > 65535) {
  console.error("usage: node.mjs PORT [--watch-stdin]   (PORT 1..65535)");
  process.exit(2);
}
const port = Number(portArg);
const cli = join(here, "node_modules", "hardhat", "internal", "cli", "cli.js");
if (!existsSync(cli)) {
  console.error(`node.mjs: ${cli} is missing: run scripts/setup (npm ci --prefix tests/chain)`);
  process.exit(1);
}

const started = Date.now();
const child = spawn(process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
  cwd: here,
  // No telemetry question on a terminal, no analytics from a test run.
  env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
  stdio: ["ignore", process.stderr, process.stderr],
});

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  // Hardhat exits on SIGTERM at once; a node that hangs is killed.
  setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  process.exitCode = code;
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => stop(0));
child.on("exit", (code, signal) => {
  if (!stopping) console.error(`node.mjs: hardhat exited (code ${code}, signal ${signal})`);
  process.exit(stopping ? process.exitCode ?? 0 : code ?? 1);
});
if (watchStdin) {
  process.stdin.on("end", () => stop(0));
  process.stdin.on("error", () => stop(0));
  process.stdin.resume();
}

async function chainId() {
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(1000),
  });
  const body = await res.json();
  return body.result;
}

const deadline = started + 60000;
while (!stopping) {
  try {
    const id = await chainId();
    if (typeof id === "string") {
      console.log(`ready http://127.0.0.1:${port} chainId=${Number(id)} in ${Date.now() - started} ms`);
      break;
    }
  } catch {
    // not listening yet
  }
  if (Date.now() > deadline) {
    console.error("node.mjs: hardhat did not answer eth_chainId within 60 s");
    stop(1);
    break;
  }
  await new Promise((r) => setTimeout(r, 50));
}
