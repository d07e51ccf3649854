import { Subject, type Observable, type Subscription } from 'rxjs';
import type { RunnerEvent } from '../runner/events.js';
import { createConsoleLogger } from '../util/logger.js';
import { createRng } from '../util/rng.js';
import type { Logger, Rng, Services } from './types.js';

/**
 * Services plus the means to connect the run's event stream once a runner exists. Factories
 * are built before the runner (the runner needs the model), so `services.events$` is a relay:
 * subscribe at build time, receive the runner's events once `attachEvents` is called.
 */
export interface RunServices {
  services: Services;
  attachEvents(source: Observable<RunnerEvent>): Subscription;
}

export interface CreateServicesOptions {
  seed?: number;
  backend?: string;
  logger?: Logger;
  rng?: Rng;
}

export function createServices(options: CreateServicesOptions = {}): RunServices {
  const relay = new Subject<RunnerEvent>();
  const services: Services = {
    logger: options.logger ?? createConsoleLogger(),
    rng: options.rng ?? createRng(options.seed ?? 0),
    backend: options.backend ?? 'unknown',
    events$: relay.asObservable(),
  };
  return {
    services,
    attachEvents: (source) => source.subscribe({ next: (e) => relay.next(e) }),
  };
}
