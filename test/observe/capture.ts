/** A log destination for tests that keeps every line, raw and parsed. */
export function capture() {
  const raw: string[] = [];
  return {
    raw,
    lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>),
    stream: { write: (s: string) => void raw.push(...s.split('\n').filter(Boolean)) },
  };
}
