// Types of the module vite.config.mjs makes from src/vp/ballot/wasm's ballot_verifier.js.
declare module 'virtual:ballot-verifier' {
  const factory: (opts: { wasmBinary?: Uint8Array }) => Promise<unknown>;
  export default factory;
  // The wasm's hashed asset URL in a build; null under `vite dev` (the wasm stays embedded).
  export const wasmUrl: string | null;
}
