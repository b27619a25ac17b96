import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HwgenError } from './errors.js';
import { requireTools, runTool } from './tools.js';

describe('external tools', () => {
  it('names every missing tool and the Debian package that provides it, before running anything', () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'hwgen-empty-path-'));
    try {
      expect(() => requireTools('nextpnr-ice40', 'icepack')).toThrow(HwgenError);
      expect(() => requireTools('nextpnr-ice40', 'icepack')).toThrow(
        "tools are not installed or do not run: nextpnr-ice40 (Debian package 'nextpnr-ice40'), icepack (Debian package 'fpga-icestorm'); install them",
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('reports the versions of installed tools (scripts/install-deps.sh installs them)', () => {
    const v = requireTools('verilator', 'g++', 'yosys', 'nextpnr-ice40', 'icepack');
    expect(v.verilator).toMatch(/^Verilator \d+\.\d+/);
    expect(v.yosys).toMatch(/^Yosys \d+\.\d+/);
    expect(v['nextpnr-ice40']).toMatch(/nextpnr-ice40/);
  });

  it('a failing run names the tool, its exit status and what it printed', () => {
    expect(() => runTool('yosys', ['-p', 'read_verilog no_such_file.v'])).toThrow(/^yosys failed \(exit 1\):[\s\S]*no_such_file\.v/);
  });
});
