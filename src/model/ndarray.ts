/** An n-dimensional array as numpy stores it, always in C (row-major) order once read. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** numpy dtype kinds hwgen reads and writes: float, signed int, unsigned int, bool. */
export type DType = 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8' | 'b1';

export interface NdArray {
  dtype: DType;
  shape: number[];
  /** Row-major data; bool (`b1`) is a Uint8Array of 0/1. */
  data: NumericArray;
}

/** Product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A copy of an array's values as float64 (int64 values beyond 2^53 lose precision, as in numpy). */
export function toFloat64(a: NdArray): Float64Array {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < a.data.length; i++) out[i] = Number(a.data[i]);
  return out;
}
