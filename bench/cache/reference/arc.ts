import { KeyLists } from './lists.js';

const T1 = 0;
const T2 = 1;
const B1 = 2;
const B2 = 3;

/**
 * ARC (Megiddo & Modha, FAST 2003), as in the paper's pseudocode, with the integer target adjustment
 * of Caffeine's simulator (whose published scarab figure this reproduces). Returns the number of hits.
 */
export function simulateArc(keys: Int32Array, universe: number, c: number): number {
  const l = new KeyLists(universe, 4);
  const size = l.sizes;
  let p = 0;
  let hits = 0;
  const replace = (inB2: boolean): void => {
    const t1 = size[T1]!;
    if (t1 >= 1 && ((inB2 && t1 === p) || t1 > p)) l.moveFront(B1, l.oldest(T1));
    else l.moveFront(B2, l.oldest(T2));
  };
  for (let i = 0; i < keys.length; i++) {
    const x = keys[i]!;
    const where = l.owner[x]!;
    if (where === T1 || where === T2) {
      hits++;
      l.moveFront(T2, x);
    } else if (where === B1) {
      const b1 = size[B1]!;
      const b2 = size[B2]!;
      p = Math.min(c, p + (b1 >= b2 ? 1 : Math.floor(b2 / b1)));
      replace(false);
      l.moveFront(T2, x);
    } else if (where === B2) {
      const b1 = size[B1]!;
      const b2 = size[B2]!;
      p = Math.max(0, p - (b2 >= b1 ? 1 : Math.floor(b1 / b2)));
      replace(true);
      l.moveFront(T2, x);
    } else {
      const l1 = size[T1]! + size[B1]!;
      if (l1 === c) {
        if (size[T1]! < c) {
          l.remove(l.oldest(B1));
          replace(false);
        } else {
          l.remove(l.oldest(T1));
        }
      } else {
        const total = l1 + size[T2]! + size[B2]!;
        if (total >= c) {
          if (total === 2 * c) l.remove(l.oldest(B2));
          replace(false);
        }
      }
      l.pushFront(T1, x);
    }
  }
  return hits;
}
