/**
 * The `hwgen` CLI end to end, as a user runs it: a separate process on real files, numpy on the other side.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPython } from './helpers/python.js';
import { runHwgen } from './helpers/cli.js';
import { readBundle } from '../src/model/bundle.js';
import { bundleForward, quantizeInput } from '../src/golden/eie.js';

let dir: string;

const hwgen = (...args: string[]) => runHwgen(dir, args);

/** A two-layer net saved by numpy as NAME.weight / NAME.bias. */
const MAKE_NET = `
import numpy as np, sys
r = np.random.default_rng(int(sys.argv[2]))
np.savez(sys.argv[1], **{'fc1.weight': r.normal(size=(37, 50)).astype(np.float32) * 0.1,
  'fc1.bias': r.normal(size=37).astype(np.float32) * 0.1,
  'fc2.weight': r.normal(size=(11, 37)).astype(np.float32) * 0.1, 'fc2.bias': np.zeros(11, np.float32)})
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-cli-'));
  runPython(MAKE_NET, [join(dir, 'net.npz'), '1']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hwgen compress / inspect / export', () => {
  it('round-trips through numpy: export equals the pruned, quantized weights', () => {
    const c = hwgen('compress', 'net.npz', '-o', 'net.hwb', '--density', '0.2', '--pes', '4', '--json');
    expect(c.err).toBe('');
    expect(c.code).toBe(0);
    const report = JSON.parse(c.out);
    expect(report.layers.map((l: { nonZeros: number }) => l.nonZeros)).toEqual([Math.round(0.2 * 37 * 50), Math.round(0.2 * 11 * 37)]);
    expect(hwgen('inspect', 'net.hwb').code).toBe(0);
    expect(hwgen('export', 'net.hwb', '-o', 'dec.npz').code).toBe(0);
    // numpy checks: the kept positions are the top-k magnitudes, each holds one of the layer's 15 shared values.
    const check = `
import numpy as np, json, sys
w = np.load(sys.argv[1]); d = np.load(sys.argv[2]); out = {}
for name in ['fc1', 'fc2']:
    W = w[name + '.weight']; D = d[name + '.weight']
    k = int(round(0.2 * W.size))
    order = np.lexsort((np.arange(W.size), -np.abs(W.ravel())))[:k]
    mask = np.zeros(W.size, bool); mask[order] = True
    levels = np.unique(D[D != 0])
    nearest = levels[np.abs(W.ravel()[mask][:, None] - levels[None, :]).argmin(1)]
    out[name] = dict(mask=bool(((D.ravel() != 0) == mask).all()), levels=len(levels),
                     nearest=bool((D.ravel()[mask] == nearest).all()), dtype=str(D.dtype))
print(json.dumps(out))`;
    const res = JSON.parse(runPython(check, [join(dir, 'net.npz'), join(dir, 'dec.npz')]));
    for (const name of ['fc1', 'fc2']) {
      expect(res[name]).toEqual({ mask: true, levels: res[name].levels, nearest: true, dtype: 'float32' });
      expect(res[name].levels).toBeLessThanOrEqual(15);
    }
    // the export reads back as a weights file
    expect(hwgen('compress', 'dec.npz', '-o', 'again.hwb').code).toBe(0);
  });

  it('reads an ONNX model written by the onnx library, ReLUs included', () => {
    const make = `
import numpy as np, onnx, sys
from onnx import helper, numpy_helper, TensorProto
r = np.random.default_rng(5)
w1 = r.normal(size=(20, 12)).astype(np.float32); b1 = r.normal(size=20).astype(np.float32)
w2 = r.normal(size=(20, 7)).astype(np.float32)
nodes = [helper.make_node('Gemm', ['x', 'w1', 'b1'], ['h'], transB=1, name='fc1'), helper.make_node('Relu', ['h'], ['hr']),
         helper.make_node('MatMul', ['hr', 'w2'], ['y'], name='fc2')]
g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 12])],
    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 7])],
    [numpy_helper.from_array(w1, 'w1'), numpy_helper.from_array(b1, 'b1'), numpy_helper.from_array(w2, 'w2')])
onnx.save(helper.make_model(g), sys.argv[1])`;
    runPython(make, [join(dir, 'm.onnx')]);
    expect(hwgen('compress', 'm.onnx', '-o', 'm.hwb', '--pes', '2').code).toBe(0);
    const b = readBundle(join(dir, 'm.hwb'));
    expect(b.layers.map((l) => [l.name, l.rows, l.cols, l.relu])).toEqual([['fc1', 20, 12, true], ['fc2', 7, 20, false]]);
  });

  it('writes byte-identical bundles for the same inputs', () => {
    expect(hwgen('compress', 'net.npz', '-o', 'a.hwb', '--quality', '0.5').code).toBe(0);
    expect(hwgen('compress', 'net.npz', '-o', 'b.hwb', '--quality', '0.5').code).toBe(0);
    expect(readFileSync(join(dir, 'a.hwb')).equals(readFileSync(join(dir, 'b.hwb')))).toBe(true);
  });

  it('lists every option with its default in --help', () => {
    const h = hwgen('compress', '--help');
    expect(h.code).toBe(0);
    for (const opt of ['--output', '--density', '--quality', '--bits', '--pes', '--v-bits', '--z-bits', '--act-bits', '--act-frac', '--weight-bits', '--acc-bits', '--relu', '--json']) {
      expect(h.out).toContain(opt);
    }
    expect(h.out).toMatch(/--bits[^\n]*\[default: 4\]/);
    expect(h.out).toMatch(/--pes[^\n]*\[default: 16\]/);
    const top = hwgen('--help');
    for (const cmd of ['compress', 'inspect', 'export', 'sim']) expect(top.out).toContain(`hwgen ${cmd}`);
  });
});

describe('hwgen sim', () => {
  it('runs a batch on the Verilator model and writes what the golden model computes', () => {
    expect(hwgen('compress', 'net.npz', '-o', 'sim.hwb', '--density', '0.3', '--pes', '4').code).toBe(0);
    runPython(`import numpy as np, sys\nr = np.random.default_rng(3)\nnp.save(sys.argv[1], np.maximum(r.normal(size=(5, 50)), 0).astype(np.float32))`, [join(dir, 'x.npy')]);
    const r = hwgen('sim', 'sim.hwb', '--input', 'x.npy', '-o', 'y.npy', '--raw', '--pes', '2', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.golden.match).toBe(true);
    expect(report.config.pes).toBe(2);
    expect(report.cyclesPerInference).toHaveLength(5);
    // numpy reads the outputs; the golden model computed here from the same files must agree exactly
    const y = JSON.parse(runPython(`import numpy as np, sys, json\ny = np.load(sys.argv[1]); print(json.dumps([str(y.dtype), list(y.shape), y.tolist()]))`, [join(dir, 'y.npy')]));
    expect(y[0]).toBe('int32');
    expect(y[1]).toEqual([5, 11]);
    const bundle = readBundle(join(dir, 'sim.hwb'));
    const x = JSON.parse(runPython(`import numpy as np, sys, json\nprint(json.dumps(np.load(sys.argv[1]).astype(float).tolist()))`, [join(dir, 'x.npy')]));
    x.forEach((row: number[], i: number) => {
      const want = bundleForward(bundle, quantizeInput(row, bundle.numeric));
      expect(y[2][i]).toEqual(Array.from(want[want.length - 1]));
    });
  });

  it('says on stderr when fixed point saturated, and counts it in the report', () => {
    runPython(`import numpy as np, sys\nr = np.random.default_rng(4)\nnp.save(sys.argv[1], (r.normal(size=(3, 50)) * 1e6).astype(np.float32))`, [join(dir, 'loud.npy')]);
    const r = hwgen('sim', 'sim.hwb', '--input', 'loud.npy', '--pes', '2', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/hwgen: warning: fixed point saturated on these 3 input\(s\) \(fc1: \d+ input\(s\) clipped/);
    const sat = JSON.parse(r.out).saturations as { inputs: number }[];
    expect(sat[0].inputs).toBeGreaterThan(100);
    const quiet = hwgen('sim', 'sim.hwb', '--input', 'x.npy', '--pes', '2');
    expect(quiet.err).toBe('');
    expect(quiet.out).toMatch(/bit-exact match, fixed-point saturations 0/);
  });

  it('builds from an explicit --config and refuses a bad one', () => {
    const cfg = { pes: 3, vBits: 4, zBits: 4, actBits: 16, actFrac: 8, weightBits: 16, accBits: 32, fifoDepth: 4, entriesPerWord: 2, spmatWords: 512, ptrDepth: 128, actDepth: 32, biasDepth: 32, maxLayers: 2 };
    writeFileSync(join(dir, 'c.json'), JSON.stringify(cfg));
    const ok = hwgen('sim', 'sim.hwb', '--input', 'x.npy', '--config', 'c.json', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).config).toEqual(cfg);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...cfg, fifoDepht: 4 }));
    const bad = hwgen('sim', 'sim.hwb', '--input', 'x.npy', '--config', 'bad.json');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.json: unknown config key 'fifoDepht'/);
    writeFileSync(join(dir, 'small.json'), JSON.stringify({ ...cfg, spmatWords: 8 }));
    const small = hwgen('sim', 'sim.hwb', '--input', 'x.npy', '--config', 'small.json');
    expect(small.code).toBe(1);
    expect(small.err).toMatch(/small\.json: the bundle does not fit the hardware \(per PE: sparse entries \d+ > 16\)/);
  });

  it('refuses inputs of the wrong width, naming both widths', () => {
    runPython(`import numpy as np, sys\nnp.save(sys.argv[1], np.ones((2, 49), np.float32))`, [join(dir, 'x49.npy')]);
    const r = hwgen('sim', 'sim.hwb', '--input', 'x49.npy', '-o', 'y49.npy');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/x49\.npy: inputs have shape \(2, 49\); the first layer takes \(50\) or \(n, 50\)/);
    expect(existsSync(join(dir, 'y49.npy'))).toBe(false);
  });
});

describe('binary (XNOR) bundles through the CLI', () => {
  it('compress --binary with batch-norm from .npz, inspect, export and sim agree with the golden model', () => {
    const make = `
import numpy as np, sys
r = np.random.default_rng(8)
arrays = {}
for name, (m, k) in [('fc1', (24, 40)), ('fc2', (16, 24)), ('fc3', (5, 16))]:
    arrays[name + '.weight'] = r.normal(size=(m, k)).astype(np.float32)
    arrays[name + '.bias'] = r.normal(size=m).astype(np.float32) * 0.1
    if name != 'fc3':
        arrays[name + '.bn.gamma'] = r.normal(size=m).astype(np.float32)
        arrays[name + '.bn.beta'] = r.normal(size=m).astype(np.float32)
        arrays[name + '.bn.mean'] = r.normal(size=m).astype(np.float32)
        arrays[name + '.bn.var'] = r.uniform(0.5, 2, size=m).astype(np.float32)
np.savez(sys.argv[1], **arrays)
np.save(sys.argv[2], r.normal(size=(4, 40)).astype(np.float32))`;
    runPython(make, [join(dir, 'bin.npz'), join(dir, 'bx.npy')]);
    const c = hwgen('compress', 'bin.npz', '-o', 'bin.hwb', '--binary');
    expect(c.err).toBe('');
    expect(c.code).toBe(0);
    expect(hwgen('inspect', 'bin.hwb').code).toBe(0);
    const e = hwgen('export', 'bin.hwb', '-o', 'bin-dec.npz');
    expect(e.code).toBe(0);
    const names = JSON.parse(runPython(`import numpy as np, sys, json\nd = np.load(sys.argv[1]); print(json.dumps(sorted(d.files)))`, [join(dir, 'bin-dec.npz')]));
    expect(names).toEqual(['fc1.flip', 'fc1.threshold', 'fc1.weight', 'fc2.flip', 'fc2.threshold', 'fc2.weight', 'fc3.alpha', 'fc3.bias', 'fc3.weight']);
    const s = hwgen('sim', 'bin.hwb', '--input', 'bx.npy', '-o', 'by.npy', '--json');
    expect(s.err).toBe('');
    expect(s.code).toBe(0);
    const report = JSON.parse(s.out);
    expect(report.engine).toBe('XNOR');
    expect(report.golden.match).toBe(true);
    expect(report.inferences).toBe(4);
    expect(hwgen('sim', 'bin.hwb', '--input', 'bx.npy', '--pes', '4').err).toMatch(/--pes applies to EIE bundles/);
  });
});

describe('bad input gets a clear error, a non-zero exit and no output', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['NaN weight', () => (runPython(`import numpy as np,sys\nw=np.ones((4,5),np.float32); w[2,3]=np.nan; np.save(sys.argv[1], w)`, [join(dir, 'nan.npy')]), ['compress', 'nan.npy', '-o', 'o.hwb']), /nan\.npy: layer 'nan' weight: NaN at \[2, 3\]; weights must be finite/],
    ['Inf bias', () => (runPython(`import numpy as np,sys\nb=np.zeros(4,np.float32); b[1]=np.inf; np.savez(sys.argv[1], **{'l.weight': np.ones((4,5),np.float32), 'l.bias': b})`, [join(dir, 'inf.npz')]), ['compress', 'inf.npz', '-o', 'o.hwb']), /layer 'l' bias: Infinity at \[1\]/],
    ['truncated npy', () => (writeFileSync(join(dir, 'trunc.npy'), readFileSync(join(dir, 'nan.npy')).subarray(0, 100)), ['compress', 'trunc.npy', '-o', 'o.hwb']), /trunc\.npy.*bytes/],
    ['int weights', () => (runPython(`import numpy as np,sys\nnp.save(sys.argv[1], np.ones((3,3),np.int32))`, [join(dir, 'int.npy')]), ['compress', 'int.npy', '-o', 'o.hwb']), /dtype 'i4' is not a float/],
    ['rank 3', () => (runPython(`import numpy as np,sys\nnp.save(sys.argv[1], np.ones((2,3,3),np.float32))`, [join(dir, 'r3.npy')]), ['compress', 'r3.npy', '-o', 'o.hwb']), /needs 2 dimensions/],
    ['bits out of range', () => ['compress', 'net.npz', '-o', 'o.hwb', '--bits', '9'], /bits is 9; it must be an integer in 2\.\.8/],
    ['bits above v-bits', () => ['compress', 'net.npz', '-o', 'o.hwb', '--bits', '5'], /--bits 5 does not fit --v-bits 4/],
    ['z width', () => ['compress', 'net.npz', '-o', 'o.hwb', '--z-bits', '0'], /zBits is 0/],
    ['density 0', () => ['compress', 'net.npz', '-o', 'o.hwb', '--density', '0'], /--density 0: '0' is not a density in \(0, 1\]/],
    ['density 1.5', () => ['compress', 'net.npz', '-o', 'o.hwb', '--density', '1.5'], /not a density in \(0, 1\]/],
    ['density for an unknown layer', () => ['compress', 'net.npz', '-o', 'o.hwb', '--density', 'fc1=0.5'], /no value for layer 'fc2'/],
    ['unwritable output', () => ['compress', 'net.npz', '-o', 'no/such/dir/o.hwb'], /cannot write -o no\/such\/dir\/o\.hwb: directory no\/such\/dir does not exist/],
    ['unknown format', () => (writeFileSync(join(dir, 'w.txt'), '1 2 3'), ['compress', 'w.txt', '-o', 'o.hwb']), /unknown weights format '\.txt'/],
    ['missing file', () => ['compress', 'absent.npz', '-o', 'o.hwb'], /cannot read weights file absent\.npz: no such file; check the path/],
    ['unknown option', () => ['compress', 'net.npz', '-o', 'o.hwb', '--dnesity', '0.1'], /Unknown argument: dnesity/],
  ];
  for (const [name, args, message] of cases) {
    it(name, () => {
      const before = new Set(readdirSync(dir));
      const r = hwgen(...args());
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/internal error|at .*\.ts:\d+/); // a message, not a stack trace
      expect(existsSync(join(dir, 'o.hwb'))).toBe(false);
      expect(readdirSync(dir).filter((f) => !before.has(f) && !/\.(npy|npz|txt)$/.test(f))).toEqual([]);
    });
  }

  it('a bit flip anywhere in a bundle is caught by inspect, export and sim', () => {
    expect(hwgen('compress', 'net.npz', '-o', 'good.hwb', '--density', '0.3').code).toBe(0);
    const good = readFileSync(join(dir, 'good.hwb'));
    for (const at of [3, 20, Math.floor(good.length / 2), good.length - 2]) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x10;
      writeFileSync(join(dir, 'bad.hwb'), bad);
      for (const cmd of [['inspect', 'bad.hwb'], ['export', 'bad.hwb', '-o', 'bad.npz'], ['sim', 'bad.hwb', '--input', 'nan.npy']]) {
        const r = hwgen(...cmd);
        expect(r.code, `${cmd[0]} flip at ${at}`).toBe(1);
        expect(r.err).toMatch(/bad\.hwb.*(CRC|corrupt|not an hwgen bundle)/i);
      }
      expect(existsSync(join(dir, 'bad.npz'))).toBe(false);
    }
  });
});
