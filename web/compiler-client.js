// The page's side of the compiler Worker (worker.js): request/response over postMessage, stage
// messages passed to a callback, and a fresh Worker after a crash or an internal compiler error
// (a trap may leave the component's instance unusable; a new Worker has a new instance).

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class CompilerClient {
  constructor() {
    this.nextId = 1;
    this.pending = new Map(); // id -> { resolve, reject, onStage }
    this.restarts = 0;
    this.start();
  }

  /** Start a Worker; `ready` resolves to { targets, defaults } once its component has loaded. */
  start() {
    this.worker = new Worker(WORKER_URL, { type: 'module', name: 'synth-compiler' });
    this.loaded = false;
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = ({ data }) => {
        if (data.ready) {
          this.loaded = true;
          resolve(data.ready);
        } else if (data.loadError !== undefined) {
          reject(new Error(data.loadError));
        } else {
          this.handle(data);
        }
      };
      // A module that fails to load or a crash: fail what is waiting, then start over.
      this.worker.onerror = (event) => {
        event.preventDefault();
        const error = new Error(`the compiler Worker failed: ${event.message ?? 'unknown error'}`);
        reject(error);
        this.failAll(error);
      };
    });
    // Rejections are reported to whoever awaits `ready` or a request, not as unhandled.
    this.ready.catch(() => {});
  }

  handle(data) {
    const request = this.pending.get(data.id);
    if (!request) return;
    if (data.stage !== undefined) {
      request.onStage?.(data.stage, data.at);
      return;
    }
    this.pending.delete(data.id);
    if (data.failure !== undefined) request.reject(new Error(data.failure));
    else request.resolve(data.value);
  }

  failAll(error) {
    for (const request of this.pending.values()) request.reject(error);
    this.pending.clear();
  }

  /** Throw away this Worker (and its component instance) and start another. */
  restart() {
    this.worker.terminate();
    this.failAll(new Error('the compiler Worker was restarted'));
    this.restarts += 1;
    this.start();
  }

  /** Run `op` with `args` in the Worker; `onStage(name, epochMillis)` hears its stages. */
  call(op, args, { onStage, transfer = [] } = {}) {
    const id = this.nextId;
    this.nextId += 1;
    const result = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onStage });
    });
    this.worker.postMessage({ id, op, args }, transfer);
    return result.then((value) => {
      if (hasInternalError(value)) this.restart();
      return value;
    });
  }
}

const isInternal = (result) => result && result.ok === false && result.error?.kind === 'internal';
const hasInternalError = (value) => isInternal(value) || isInternal(value?.a) || isInternal(value?.b);
