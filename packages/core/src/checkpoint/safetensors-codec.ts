// Pure encoding and decoding of safetensors bytes: no file system, no Node built-ins, so the
// browser loads weights with the same validation as the CLI (file I/O is in safetensors.ts).
import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';

/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * u64 header length N, N bytes of JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } }`
 * (padded with spaces so the data starts 8-byte aligned), then the raw little-endian data.
 * Offsets are relative to the start of the data section.
 *
 * tfjs has only float32/int32/bool, so reading converts wider or narrower dtypes written by
 * PyTorch (F64/F16/BF16 -> float32, I64/I16/I8/U8/U16 -> int32; I64 must fit in int32).
 */

export interface SafetensorsContent {
  tensors: Map<string, tf.Tensor>;
  metadata: Record<string, string>;
}

interface DtypeInfo {
  bytes: number;
  /** tfjs dtype the data becomes when read. */
  tf: 'float32' | 'int32' | 'bool';
}

const DTYPES: Record<string, DtypeInfo> = {
  F32: { bytes: 4, tf: 'float32' },
  F64: { bytes: 8, tf: 'float32' },
  F16: { bytes: 2, tf: 'float32' },
  BF16: { bytes: 2, tf: 'float32' },
  I32: { bytes: 4, tf: 'int32' },
  I64: { bytes: 8, tf: 'int32' },
  I16: { bytes: 2, tf: 'int32' },
  I8: { bytes: 1, tf: 'int32' },
  U8: { bytes: 1, tf: 'int32' },
  U16: { bytes: 2, tf: 'int32' },
  BOOL: { bytes: 1, tf: 'bool' },
};

const WRITE_DTYPE: Record<string, string> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

const METADATA_KEY = '__metadata__';
/** Typed arrays use the host's byte order; safetensors is little-endian. */
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Refuse absurd headers before allocating for them (the reference implementation uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

// ---------------------------------------------------------------------------------- encode

/**
 * Serializes tensors (float32 -> F32, int32 -> I32, bool -> BOOL) in insertion order. Reads the
 * device asynchronously (all tensors at once), so it works on every backend, WebGPU included.
 */
export async function encodeSafetensors(tensors: Map<string, tf.Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new DetkitError('INVALID_ARGUMENT', `safetensors metadata '${k}' must be a string, got ${typeof v}`);
    }
    header[METADATA_KEY] = metadata;
  }
  for (const [name, t] of tensors) {
    if (name === '' || name === METADATA_KEY) throw new DetkitError('INVALID_ARGUMENT', `safetensors: invalid tensor name '${name}'`);
    if (!WRITE_DTYPE[t.dtype]) throw new DetkitError('INVALID_ARGUMENT', `safetensors: tensor '${name}' has unsupported dtype ${t.dtype}`);
  }
  const values = await Promise.all([...tensors.values()].map((t) => t.data()));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  let k = 0;
  for (const [name, t] of tensors) {
    const dtype = WRITE_DTYPE[t.dtype]!;
    const bytes = toLittleEndianBytes(values[k++]!, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Spaces pad the header so the data starts 8-byte aligned.
  const headerLen = json.byteLength + ((8 - ((8 + json.byteLength) % 8)) % 8);
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

function toLittleEndianBytes(data: tf.TypedArray, dtype: string): Uint8Array {
  if (dtype === 'BOOL') return Uint8Array.from(data as Uint8Array, (v) => (v ? 1 : 0));
  // Fast path: float32/int32 typed arrays already hold little-endian bytes on LE hosts.
  if (littleEndianHost && (data instanceof Float32Array || data instanceof Int32Array)) {
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
  const view = new DataView(new ArrayBuffer(data.length * 4));
  if (dtype === 'F32') data.forEach((v, i) => view.setFloat32(i * 4, v as number, true));
  else data.forEach((v, i) => view.setInt32(i * 4, v as number, true));
  return new Uint8Array(view.buffer);
}

// ---------------------------------------------------------------------------------- decode

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses a safetensors buffer. Everything is validated before the first tensor is created,
 * so a corrupt file throws CHECKPOINT_CORRUPT (naming `source` and the problem) and never
 * yields a partial result.
 */
export function decodeSafetensors(buf: Uint8Array, source = '<buffer>'): SafetensorsContent {
  const bad = badFile(source);
  const headerLen = decodeSafetensorsHeaderLength(buf, buf.byteLength, source);
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;

  const header = parseHeader(buf.subarray(8, dataStart), bad);
  const metadata = parseMetadata(header[METADATA_KEY], bad);
  const entries = Object.entries(header)
    .filter(([k]) => k !== METADATA_KEY)
    .map(([name, raw]) => parseEntry(name, raw, dataLen, bad));
  checkCoverage(entries, dataLen, bad);

  // Convert every buffer before creating any tensor: conversion can still fail (I64 range).
  const arrays = entries.map((e) => convert(e, buf.subarray(dataStart + e.begin, dataStart + e.end), bad));
  const tensors = new Map<string, tf.Tensor>();
  entries.forEach((e, i) => tensors.set(e.name, tf.tensor(arrays[i]!, e.shape, DTYPES[e.dtype]!.tf)));
  return { tensors, metadata };
}

/**
 * The `__metadata__` of a safetensors header, given the header's JSON bytes (the `headerLength`
 * bytes after the 8-byte length prefix): what a file says about itself, without its tensors.
 */
export function decodeSafetensorsMetadata(headerJson: Uint8Array, source = '<buffer>'): Record<string, string> {
  const bad = badFile(source);
  return parseMetadata(parseHeader(headerJson, bad)[METADATA_KEY], bad);
}

/** The header length a safetensors file's first 8 bytes announce, checked against the limit. */
export function decodeSafetensorsHeaderLength(prefix: Uint8Array, fileBytes: number, source = '<buffer>'): number {
  const bad = badFile(source);
  if (prefix.byteLength < 8 || fileBytes < 8) throw bad(`file too short (${fileBytes} bytes, need at least 8 for the header length)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileBytes - 8)) throw bad(`header length ${n} exceeds the ${fileBytes - 8} bytes after the length prefix (truncated?)`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw bad(`header length ${n} is larger than the ${MAX_HEADER_BYTES} byte limit`);
  return Number(n);
}

function badFile(source: string): (problem: string) => DetkitError {
  return (problem) => new DetkitError('CHECKPOINT_CORRUPT', `Corrupt safetensors file ${source}: ${problem}`, { file: source });
}

function parseHeader(bytes: Uint8Array, bad: (p: string) => DetkitError): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw bad(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw bad('header is not a JSON object');
  return header;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseMetadata(raw: unknown, bad: (p: string) => DetkitError): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) throw bad(`'${METADATA_KEY}' is not an object`);
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw bad(`metadata '${k}' is not a string`);
  }
  return raw as Record<string, string>;
}

function parseEntry(name: string, raw: unknown, dataLen: number, bad: (p: string) => DetkitError): Entry {
  if (!isPlainObject(raw)) throw bad(`tensor '${name}': entry is not an object`);
  const { dtype, shape, data_offsets: offs } = raw;
  if (typeof dtype !== 'string' || !DTYPES[dtype]) {
    throw bad(`tensor '${name}': unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw bad(`tensor '${name}': data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
  }
  const [begin, end] = offs as [number, number];
  if (begin > end || end > dataLen) throw bad(`tensor '${name}': data_offsets [${begin}, ${end}] out of range (data section is ${dataLen} bytes)`);
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPES[dtype]!.bytes;
  if (end - begin !== expected) {
    throw bad(`tensor '${name}': ${end - begin} bytes for shape [${shape}] ${dtype}, expected ${expected}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** The spec requires the entries to tile the data section exactly: no gaps, no overlap. */
function checkCoverage(entries: Entry[], dataLen: number, bad: (p: string) => DetkitError): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin < pos) throw bad(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (ends at ${pos})`);
    if (e.begin > pos) throw bad(`gap in the data section: bytes [${pos}, ${e.begin}) belong to no tensor`);
    pos = e.end;
  }
  if (pos !== dataLen) throw bad(`data section is ${dataLen} bytes but tensors cover only ${pos}`);
}

function convert(e: Entry, bytes: Uint8Array, bad: (p: string) => DetkitError): Float32Array | Int32Array | Uint8Array {
  // Copy into a fresh, aligned buffer (Buffer slices may sit at odd offsets in a pool).
  const copy = new Uint8Array(bytes);
  const n = bytes.byteLength / DTYPES[e.dtype]!.bytes;
  const dv = new DataView(copy.buffer);
  switch (e.dtype) {
    case 'F32':
      return littleEndianHost ? new Float32Array(copy.buffer) : Float32Array.from({ length: n }, (_, i) => dv.getFloat32(i * 4, true));
    case 'I32':
      return littleEndianHost ? new Int32Array(copy.buffer) : Int32Array.from({ length: n }, (_, i) => dv.getInt32(i * 4, true));
    case 'F64':
      return Float32Array.from({ length: n }, (_, i) => dv.getFloat64(i * 8, true));
    case 'F16':
      return Float32Array.from({ length: n }, (_, i) => halfToFloat(dv.getUint16(i * 2, true)));
    case 'BF16': {
      const f = new DataView(new ArrayBuffer(4));
      return Float32Array.from({ length: n }, (_, i) => {
        f.setUint32(0, dv.getUint16(i * 2, true) << 16);
        return f.getFloat32(0);
      });
    }
    case 'I64':
      return Int32Array.from({ length: n }, (_, i) => {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) throw bad(`tensor '${e.name}': I64 value ${v} does not fit in int32`);
        return Number(v);
      });
    case 'I16':
      return Int32Array.from({ length: n }, (_, i) => dv.getInt16(i * 2, true));
    case 'U16':
      return Int32Array.from({ length: n }, (_, i) => dv.getUint16(i * 2, true));
    case 'I8':
      return Int32Array.from({ length: n }, (_, i) => dv.getInt8(i));
    case 'U8':
      return Int32Array.from(copy);
    case 'BOOL':
      return copy;
    default:
      throw bad(`tensor '${e.name}': unknown dtype ${e.dtype}`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
