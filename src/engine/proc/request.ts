/** A sibling child's request: the JSON its parent wrote to stdin (runSiblingChild), never argv, which `ps` shows. */
export async function readRequest<T>(): Promise<T> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return JSON.parse(Buffer.concat(parts).toString('utf8')) as T;
}
