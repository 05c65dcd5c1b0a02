/** Ports for the servers tests start. */
import { createServer } from 'node:net';

/**
 * A TCP port nobody listens on now (the kernel's pick). A fixed port in the ephemeral range
 * (32768–60999 on Linux) can be taken at any moment by another test's client socket.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
