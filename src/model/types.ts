/**
 * The model as hwgen carries it between stages: float layers as read from a weights file, and the
 * compressed bundle (`.hwb`) that `hwgen compress` writes and every later stage reads.
 * Number formats are documented in docs/numbers.md and implemented in src/golden/fixed.ts.
 */

/** A fully-connected layer as read from a weights file: y = act(W x + b). */
export interface FloatLayer {
  name: string;
  /** Outputs (rows of W). */
  rows: number;
  /** Inputs (columns of W). */
  cols: number;
  /** Row-major rows × cols. */
  weight: Float32Array;
  /** Length rows, or undefined for no bias. */
  bias?: Float32Array;
  relu: boolean;
}

export interface FloatModel {
  /** Where it came from, for messages (a file path). */
  source: string;
  layers: FloatLayer[];
}

/** Fixed-point formats shared by the whole network (and the hardware built for it). */
export interface NumericFormat {
  /** Activation width in bits, signed two's complement. */
  actBits: number;
  /** Fractional bits of an activation. */
  actFrac: number;
  /** Codebook entry width in bits, signed. */
  weightBits: number;
  /** Accumulator width in bits, signed, saturating. */
  accBits: number;
}

/** Sparse storage shape shared by all layers (and the hardware). */
export interface SparseFormat {
  /** Processing elements: row i lives in PE i mod pes. */
  pes: number;
  /** Width of a codebook index v. */
  vBits: number;
  /** Width of a relative row index z. */
  zBits: number;
}

/** One PE's slice of one layer in relative-indexed CSC form. */
export interface PeSlice {
  /** cols + 1 column pointers: column j's entries are [ptr[j], ptr[j+1]). */
  ptr: Uint32Array;
  /** Codebook index per entry (0 = zero; padding entries have v = 0). */
  v: Uint8Array;
  /** Zeros skipped, in this PE's local rows, since the previous entry of the column. */
  z: Uint8Array;
}

/** A layer compressed for the EIE engine. */
export interface EieLayer {
  kind: 'eie';
  name: string;
  rows: number;
  cols: number;
  /** Codebook index width B of this layer (2^B - 1 centroids plus the zero entry), B <= vBits. */
  bits: number;
  /** 2^bits signed integers in weightBits; entry 0 is 0. Value = codebook[i] / 2^wFrac. */
  codebook: Int32Array;
  /** Fractional bits of this layer's codebook; the accumulator holds actFrac + wFrac fractional bits. */
  wFrac: number;
  /** rows integers in the accumulator format (actFrac + wFrac fractional bits), saturated to accBits. */
  bias: Float64Array;
  relu: boolean;
  /** One slice per PE, `pes` of them. */
  slices: PeSlice[];
}

export type Layer = EieLayer;

export interface Bundle {
  numeric: NumericFormat;
  sparse: SparseFormat;
  layers: Layer[];
  /** Free-form provenance (source file, options); not used by the hardware. */
  meta: Record<string, string | number | boolean>;
}

export const DEFAULT_NUMERIC: NumericFormat = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };
export const DEFAULT_SPARSE: SparseFormat = { pes: 16, vBits: 4, zBits: 4 };
