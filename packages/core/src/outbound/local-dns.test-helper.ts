// Test-only: a real DNS server on 127.0.0.1 (UDP) whose answers a test controls, for the
// SSRF guard's rebinding tests. Not exported from the package.
import { isIPv4, isIPv6 } from 'node:net';
import dns2 from 'dns2';

const { Packet } = dns2;
const NXDOMAIN = 3;

/** Decides the addresses of a name; `count` is how many questions of the same type (A or AAAA) for it came before. */
export type Answer = (name: string, count: number) => string[] | null;

export interface LocalDns {
  /** For `UrlGuard({ dnsServers })`: `127.0.0.1:<port>`. */
  servers: string[];
  /** A and AAAA questions asked, in order. */
  questions: Array<{ name: string; type: 'A' | 'AAAA' }>;
  close(): Promise<void>;
}

/**
 * Starts a DNS server answering A/AAAA questions with `answer(name, count)` (TTL 0, so no resolver
 * caches it); `null` answers NXDOMAIN.
 */
export async function startLocalDns(answer: Answer): Promise<LocalDns> {
  const questions: LocalDns['questions'] = [];
  const counts = new Map<string, number>();
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      if (question === undefined) {
        void send(response);
        return;
      }
      const name = question.name.toLowerCase().replace(/\.$/, '');
      const type = question.type === Packet.TYPE.AAAA ? 'AAAA' : question.type === Packet.TYPE.A ? 'A' : null;
      if (type !== null) {
        questions.push({ name, type });
        const key = `${type} ${name}`;
        const count = counts.get(key) ?? 0;
        counts.set(key, count + 1);
        const addresses = answer(name, count);
        if (addresses === null) {
          response.header.rcode = NXDOMAIN;
        } else {
          for (const address of addresses) {
            if (type === 'A' && isIPv4(address)) {
              response.answers.push({
                name: question.name,
                type: Packet.TYPE.A,
                class: Packet.CLASS.IN,
                ttl: 0,
                address,
              } as never);
            }
            if (type === 'AAAA' && isIPv6(address)) {
              response.answers.push({
                name: question.name,
                type: Packet.TYPE.AAAA,
                class: Packet.CLASS.IN,
                ttl: 0,
                address,
              } as never);
            }
          }
        }
      }
      void send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const udpPort = addresses.udp?.port;
  if (udpPort === undefined) throw new Error('the local DNS server did not start');
  return {
    servers: [`127.0.0.1:${udpPort}`],
    questions,
    close: () => server.close(),
  };
}
