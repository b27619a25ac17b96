import { describe, expect, it } from 'vitest';
import { randInt, rng } from '../../test/helpers/random.js';
import { ALL_PES, MAX_BURST, OP, addressWord, header, parseAddress, parseHeader } from './command-set.js';

describe('command words taken apart', () => {
  it('parseHeader and parseAddress invert header() and addressWord() over their whole ranges', () => {
    const r = rng(18);
    const cases = [
      { op: 0, mem: 0, count: 0, pe: 0, addr: 0 },
      { op: 0xff, mem: 0xff, count: MAX_BURST, pe: ALL_PES, addr: 0xffffff },
      ...Array.from({ length: 500 }, () => ({ op: randInt(r, 0, 255), mem: randInt(r, 0, 255), count: randInt(r, 0, MAX_BURST), pe: randInt(r, 0, 255), addr: randInt(r, 0, 0xffffff) })),
    ];
    for (const { op, mem, count, pe, addr } of cases) {
      expect(parseHeader(header(op, mem, count))).toEqual({ op, mem, count });
      expect(parseAddress(addressWord(pe, addr))).toEqual({ pe, addr });
    }
  });

  it('reads the fields of a known word', () => {
    expect(parseHeader(0x0104_0003)).toEqual({ op: OP.WRITE, mem: 4, count: 3 });
    expect(parseAddress(0xff00_0010)).toEqual({ pe: ALL_PES, addr: 16 });
  });
});
