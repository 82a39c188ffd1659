// A TCP proxy on 127.0.0.1 that passes at most `mibPerSecond` from client to server (an uplink) and the
// answers unthrottled: the bench's bucket behind a link slower than the disk, as a real one is.
import net from 'node:net';

export async function startThrottle(targetPort, mibPerSecond) {
  const rate = mibPerSecond * 1048576;
  // A token bucket of 100 ms of the rate, shared by every connection (one link).
  let budget = 0;
  let last = performance.now();
  const waiting = [];
  let timer = null;
  const pump = () => {
    const now = performance.now();
    budget = Math.min(rate / 10, budget + ((now - last) / 1000) * rate);
    last = now;
    while (waiting.length && budget >= Math.min(waiting[0].bytes, rate / 10)) {
      const next = waiting.shift();
      budget -= next.bytes;
      next.go();
    }
    if (waiting.length && !timer) timer = setTimeout(() => ((timer = null), pump()), 5);
  };
  const take = (bytes) => new Promise((go) => (waiting.push({ bytes, go }), pump()));
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk) => {
      client.pause();
      take(chunk.length).then(() => (upstream.write(chunk), client.resume()));
    });
    upstream.pipe(client);
    client.on('end', () => upstream.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    stop: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
