// The WebAssembly ballot verifier (src/vp/ballot/wasm/ballot_wasm.h): the same C++ as the
// native verifier, loaded on demand (only /vote and /verify import it). Every entry point
// answers JSON {"ok", "reason", ...} and never traps; a trap would leave the module unusable,
// so it is turned into an exception and the module is dropped.
//
//   const v = await loadVerifier();
//   v.commitment(electionId, 2, randHex)   // {ok: true, commitment}

export interface WasmAnswer {
  ok: boolean;
  reason?: string;
  [key: string]: unknown;
}

interface EmscriptenModule {
  ccall(name: string, ret: 'string', types: string[], args: unknown[]): string;
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
}

export interface TallyAnswer extends WasmAnswer {
  segments?: number;
  conjecturedSecurityBits?: number;
}

export class Verifier {
  constructor(private readonly m: EmscriptenModule, readonly wasmBytes: number, readonly loadMs: number) {}

  private call(name: string, types: string[], args: unknown[]): WasmAnswer {
    let text: string;
    try {
      text = this.m.ccall(name, 'string', types, args);
    } catch (e) {
      loaded = null;
      throw new Error(`the WebAssembly verifier trapped in ${name}: ${String(e)}`);
    }
    return JSON.parse(text) as WasmAnswer;
  }

  // A NUL-terminated UTF-8 copy on the heap: ccall's 'string' argument goes on the 5 MiB
  // stack, too small for a large public-input.json.
  private heapString(text: string): number {
    const bytes = new TextEncoder().encode(text);
    const ptr = this.m._malloc(bytes.length + 1);
    this.m.HEAPU8.set(bytes, ptr); // HEAPU8 read after malloc: memory may have grown
    this.m.HEAPU8[ptr + bytes.length] = 0;
    return ptr;
  }

  commitment(electionId: string, choice: number, randHex: string): WasmAnswer {
    return this.call('vp_ballot_commitment', ['string', 'number', 'string'], [electionId, choice, randHex]);
  }
  inclusion(o: { commitment: string; leafIndex: number; treeSize: number; path: string[]; root: string }): WasmAnswer {
    return this.call('vp_ballot_verify_inclusion', ['string'], [JSON.stringify(o)]);
  }
  consistency(o: { oldSize: number; newSize: number; oldRoot: string; newRoot: string; proof: string[] }): WasmAnswer {
    return this.call('vp_ballot_verify_consistency', ['string'], [JSON.stringify(o)]);
  }
  // The 97 bytes the log key signs for a tree head (and its signature, checked for form).
  sthMessage(sth: object): WasmAnswer {
    return this.call('vp_ballot_sth_message', ['string'], [JSON.stringify(sth)]);
  }
  // ElectionConfigHash of election-manifest.json's config (canonical text required).
  configHash(manifestText: string): WasmAnswer & { configHash?: string } {
    return this.call('vp_ballot_config_hash', ['string'], [manifestText]);
  }
  verifyTally(publicInput: string, proof: Uint8Array, minBits: number): TallyAnswer & { ms: number } {
    const pub = this.heapString(publicInput);
    const ptr = this.m._malloc(Math.max(proof.length, 1));
    this.m.HEAPU8.set(proof, ptr);
    const t0 = performance.now();
    try {
      const r = this.call('vp_ballot_verify_tally', ['number', 'number', 'number', 'number'],
                          [pub, ptr, proof.length, minBits]) as TallyAnswer;
      return { ...r, ms: performance.now() - t0 };
    } finally {
      if (loaded !== null) {
        this.m._free(ptr);
        this.m._free(pub);
      }
    }
  }
}

let loaded: Promise<Verifier> | null = null;

export function loadVerifier(): Promise<Verifier> {
  if (loaded === null) {
    loaded = (async () => {
      const t0 = performance.now();
      const mod = await import('virtual:ballot-verifier');
      let wasmBinary: Uint8Array | undefined;
      if (mod.wasmUrl) {
        const res = await fetch(mod.wasmUrl, { credentials: 'same-origin' });
        if (!res.ok) throw new Error(`the verifier's wasm did not load (HTTP ${res.status})`);
        wasmBinary = new Uint8Array(await res.arrayBuffer());
      }
      const m = (await mod.default(wasmBinary ? { wasmBinary } : {})) as EmscriptenModule;
      return new Verifier(m, wasmBinary?.length ?? 0, performance.now() - t0);
    })();
    loaded.catch(() => {
      loaded = null;
    });
  }
  return loaded;
}
