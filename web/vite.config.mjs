// Vite build of the pages the gateway serves (docs/web.md): one HTML entry per page in PAGES,
// hashed assets under assets/, and the WebAssembly ballot verifier as a lazily loaded chunk.
//
//   VP_BALLOT_WASM=build/ballot-wasm/ballot_verifier.js npx vite build --outDir build/web
//
// The verifier comes from src/vp/ballot/wasm/build.sh as one file with the wasm embedded as a
// base64 data: URI. Emscripten 3.1.6 fetches that URI at start, which the pages' CSP
// (connect-src 'self') refuses, so the plugin below moves the wasm out into its own hashed
// asset and the loader (src/ballot/verifier.ts) hands the bytes to the module (wasmBinary).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// The pages: <name>.html at the top of web/, served by the gateway at /<name> (index at /).
// Add a page here (e.g. 'console' once web/console.html exists) and in src/vp/http/static_site.cc.
export const PAGES = ['index', 'vote', 'aggregate', 'result', 'verify', 'console'];

const VIRTUAL_ID = 'virtual:ballot-verifier';
const RESOLVED_ID = '\0' + VIRTUAL_ID;
const DATA_URI = /wasmBinaryFile="data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/;

/** @returns {import('vite').Plugin} */
function ballotVerifier() {
  let command = 'build';
  return {
    name: 'vp-ballot-verifier',
    configResolved(config) {
      command = config.command;
    },
    resolveId(id) {
      return id === VIRTUAL_ID ? RESOLVED_ID : null;
    },
    load(id) {
      if (id !== RESOLVED_ID) return null;
      const file = process.env.VP_BALLOT_WASM || path.resolve(HERE, '../build/ballot-wasm/ballot_verifier.js');
      if (!fs.existsSync(file)) {
        this.error(`ballot_verifier.js not found at ${file}: build it with src/vp/ballot/wasm/build.sh ` +
                   `and point VP_BALLOT_WASM at it`);
      }
      this.addWatchFile(file);
      let js = fs.readFileSync(file, 'utf8');
      const m = DATA_URI.exec(js);
      if (m === null) this.error(`${file}: no embedded wasm (build it with -sSINGLE_FILE=1)`);
      let wasmUrl = 'null';
      if (command === 'build') {
        const ref = this.emitFile({ type: 'asset', name: 'ballot_verifier.wasm', source: Buffer.from(m[1], 'base64') });
        js = js.replace(DATA_URI, 'wasmBinaryFile=""');
        wasmUrl = `import.meta.ROLLUP_FILE_URL_${ref}`;
      }
      // The module's UMD tail tests `exports`, `module` and `define`, all undefined here.
      return `${js}\nexport default BallotVerifier;\nexport const wasmUrl = ${wasmUrl};\n`;
    },
  };
}

export default defineConfig({
  root: HERE,
  base: '/',
  plugins: [ballotVerifier()],
  build: {
    outDir: process.env.VP_WEB_OUT || 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    // The verifier chunk is ~130 KB of JS; the wasm is its own asset.
    chunkSizeWarningLimit: 600,
    assetsInlineLimit: 0,
    rollupOptions: {
      input: Object.fromEntries(PAGES.map((p) => [p, path.resolve(HERE, `${p}.html`)])),
    },
  },
});
