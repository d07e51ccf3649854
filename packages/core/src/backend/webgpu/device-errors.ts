/**
 * WebGPU reports an invalid pipeline or command buffer as an `uncapturederror` event and drops
 * the work, so later reads return stale or zero values with no exception (a training run on
 * zeros). Recorded here, such an error fails the next read of any tensor, naming it.
 */
import { DetkitError } from '../../errors.js';

interface Watched {
  device: { addEventListener(type: string, fn: (ev: { error?: { message?: string } }) => void): void };
  read(dataId: object): Promise<unknown>;
}

const WATCHED = Symbol.for('detkit.webgpuDeviceErrors');

export function failReadsOnDeviceErrors(backend: unknown): void {
  const b = backend as Watched & { [WATCHED]?: true };
  if (b[WATCHED]) return;
  b[WATCHED] = true;
  const errors: string[] = [];
  b.device.addEventListener('uncapturederror', (ev) => errors.push(String(ev.error?.message ?? ev).split('\n')[0]!));
  const read = b.read.bind(b);
  b.read = async (dataId) => {
    const values = await read(dataId);
    if (errors.length > 0) {
      const [first] = errors.splice(0);
      throw new DetkitError('BACKEND_ERROR', `WebGPU dropped work after a device error, so values read now are not trustworthy: ${first}`);
    }
    return values;
  };
}
