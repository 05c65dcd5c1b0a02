/** The client side of the `load` bench: one keep-alive HTTP call to the simulated dependency. */
import { Agent, request } from 'node:http';

/** Makes calls to `url` over keep-alive connections (one per concurrent call, reused). */
export function httpCaller(url: string): { call: () => Promise<void>; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
  const { hostname, port, pathname } = new URL(url);
  if (hostname !== '127.0.0.1') throw new Error(`the load bench only calls 127.0.0.1, not ${hostname}`);
  const call = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: hostname, port: Number(port), path: pathname, agent }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`status ${res.statusCode}`));
          return;
        }
        res.on('data', () => {});
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  return { call, close: () => agent.destroy() };
}
