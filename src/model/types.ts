/**
 * The model as hwgen carries it between stages: float layers as read from a weights file, and the
 * compressed bundle (`.hwb`) that `hwgen compress` writes and every later stage reads.
 * Number formats are documented in docs/numbers.md and implemented in src/model/fixed.ts.
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
  /** Batch-norm after the layer (binary layers fold it into their thresholds; the EIE path rejects it). */
  bn?: BatchNorm;
  /** Set for a convolution: `weight` is then [out, in, kh, kw] row-major (rows = out, cols = in·kh·kw). */
  conv?: ConvShape;
  /** Binary max-pooling (window = stride) after the sign, for convolutions: 1 or absent means none. */
  pool?: number;
}

/** y = gamma · (x − mean) / sqrt(variance + eps) + beta, one value per output channel. */
export interface BatchNorm {
  gamma: Float64Array;
  beta: Float64Array;
  mean: Float64Array;
  variance: Float64Array;
  eps: number;
}

/**
 * A 2-D convolution's geometry (stride 1, square kernel). Float weights are [out, in, kh, kw] as frameworks store
 * them; the hardware and the golden model keep feature maps channel-fastest: element (y, x, c) at (y·W + x)·C + c.
 */
export interface ConvShape {
  inChannels: number;
  inHeight: number;
  inWidth: number;
  kernel: number;
  padding: 'valid' | 'same';
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

/**
 * A layer of the XNOR units (docs/xnor.md): binary weights packed as bits (bit 1 = +1, bit 0 = −1; bit k of a
 * row at byte k >> 3, bit k & 7), one integer threshold per output (bits out) or α and a bias per output
 * (fixed-point scores out). `input: 'fixed'` is the BWN mode: fixed-point activations, add or subtract.
 */
export interface XnorLayer {
  kind: 'xnor';
  name: string;
  /** Outputs M (output channels of a convolution). */
  rows: number;
  /** Inputs K per output (in·kh·kw for a convolution, ordered (ky, kx, c) with c fastest). */
  cols: number;
  input: 'binary' | 'fixed';
  output: 'threshold' | 'scores';
  /** rows × ceil(cols / 8) bytes, row-major, LSB-first within a byte, padding bits 0. */
  weights: Uint8Array;
  /** threshold: rows integers T (bit = (acc >= T) XOR flip); scores: empty. */
  threshold: Float64Array;
  /** threshold: rows flags, 1 where batch-norm's gamma < 0 flipped the comparison; scores: empty. */
  flip: Uint8Array;
  /** scores: rows integers A (α with alphaFrac fractional bits, signed weightBits); threshold: empty. */
  alpha: Int32Array;
  /** scores: rows integers (alphaFrac + input fractional bits, signed accBits); threshold: empty. */
  bias: Float64Array;
  /** Fractional bits of alpha (scores layers; 0 otherwise). */
  alphaFrac: number;
  /** Convolution geometry, or undefined for a fully-connected layer. */
  conv?: ConvShape;
  /** Binary max-pool window (= stride) after a convolution's threshold, 1 for none. */
  pool: number;
}

/** Every layer kind. A bundle holds one engine's kind: EIE layers (Bundle) or XNOR layers (BinaryBundle). */
export type Layer = EieLayer | XnorLayer;

/** A bundle for the EIE engine. */
export interface Bundle {
  /** The engine it runs on (META names it; src/engines has one module per engine). */
  engine: 'eie';
  numeric: NumericFormat;
  sparse: SparseFormat;
  layers: EieLayer[];
  /** Free-form provenance (source file, options); not used by the hardware. */
  meta: Record<string, string | number | boolean>;
}

/** A bundle for the XNOR units: binary layers, the first of which may be BWN (fixed-point input). */
export interface BinaryBundle {
  engine: 'xnor';
  numeric: NumericFormat;
  layers: XnorLayer[];
  meta: Record<string, string | number | boolean>;
}

export type AnyBundle = Bundle | BinaryBundle;

/**
 * A network: segments in order, each one engine's consecutive layers with that engine's formats (a bundle);
 * segment k's outputs are segment k+1's inputs, through a boundary (src/model/boundary.ts). Today's
 * bundles are networks of one segment.
 */
export interface Network {
  segments: AnyBundle[];
}

/** The engines a bundle can name. */
export type EngineName = AnyBundle['engine'];

export const DEFAULT_NUMERIC: NumericFormat = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };
export const DEFAULT_SPARSE: SparseFormat = { pes: 16, vBits: 4, zBits: 4 };
