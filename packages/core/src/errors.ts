/**
 * Every error detkit throws on purpose is a DetkitError: a stable machine-readable `code`
 * plus a message that names the file, key or value at fault.
 */
export type DetkitErrorCode =
  | 'REGISTRY_UNKNOWN'
  | 'REGISTRY_DUPLICATE'
  | 'PLUGIN_LOAD'
  | 'PLUGIN_INVALID'
  | 'CONFIG_INVALID'
  | 'CONFIG_LOAD'
  | 'CHECKPOINT_CORRUPT'
  | 'CHECKPOINT_MISMATCH'
  | 'RESUME_CONFIG_CHANGED'
  | 'STATE_DICT_MISMATCH'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_ERROR'
  | 'DATASET_INVALID'
  | 'MODEL_CONTRACT'
  | 'NOT_IMPLEMENTED'
  | 'INVALID_ARGUMENT'
  | 'LOSS_NOT_FINITE'
  | 'OUTPUT_NOT_FINITE'
  | 'WORK_DIR_IN_USE'
  | 'WORKER_FAILED'
  | 'INTERRUPTED'
  | 'IO';

export class DetkitError extends Error {
  readonly code: DetkitErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: DetkitErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DetkitError';
    this.code = code;
    this.details = details;
  }
}

export function isDetkitError(e: unknown, code?: DetkitErrorCode): e is DetkitError {
  return e instanceof DetkitError && (code === undefined || e.code === code);
}
