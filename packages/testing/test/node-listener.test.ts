import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeListener } from '@payable/core';
import { httpConformance } from '@payable/testing';

httpConformance('node:http', async ({ payable, options }) => {
  const server = createServer(createNodeListener(payable, options));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
});
