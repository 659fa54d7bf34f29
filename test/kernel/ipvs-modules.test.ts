// Proves data/ipvs.json on a real Linux kernel: Debian's 6.1 kernel boots under qemu, loads every listed
// module with kmod's modprobe (kernel auto-loading then switched off), and ipvsadm creates a virtual
// service with every listed scheduler.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findKernel, parseConsole, problemsOf, requireKernelTools, runIpvsList, type IpvsList, type IpvsRun } from './harness.ts';

const ipvs: IpvsList = JSON.parse(readFileSync(fileURLToPath(new URL('../../data/ipvs.json', import.meta.url)), 'utf8'));

const report = (run: IpvsRun, problems: string[]) =>
  `${problems.join('\n')}\n--- serial console (${run.durationMs} ms) ---\n${run.console}`;

describe('IPVS modules on a real kernel (qemu)', function () {
  // A boot takes ~5 s under TCG; qemu itself is killed after 60 s.
  this.timeout(120_000);

  before(function () {
    requireKernelTools();
    findKernel();
  });

  it('loads every module in data/ipvs.json and serves every scheduler in it', async function () {
    const run = await runIpvsList(ipvs);
    const problems = problemsOf(run, ipvs);
    expect(problems, report(run, problems)).to.deep.equal([]);
    expect(run.kernel).to.match(/^6\.1\./);
    expect(run.loaded).to.deep.equal(ipvs.modules);
    expect([...run.services.values()]).to.have.members(ipvs.schedulers);
  });

  it('reports a module that does not exist and a scheduler whose module is not listed', async function () {
    const list: IpvsList = {
      modules: ['ip_vs', 'ip_vs_rr', 'ip_vs_twos', 'nf_conntrack'],
      // ip_vs_wlc is not in this module list, and the guest has kernel auto-loading switched off.
      schedulers: ['rr', 'wlc'],
    };
    const run = await runIpvsList(list);
    const problems = problemsOf(run, list);
    expect(run.completed, report(run, problems)).to.equal(true);
    expect(run.loaded).to.deep.equal(['ip_vs', 'ip_vs_rr', 'nf_conntrack']);
    expect([...run.failedModules.keys()]).to.deep.equal(['ip_vs_twos']);
    expect(run.failedModules.get('ip_vs_twos')).to.include('not found');
    expect([...run.failedSchedulers.keys()]).to.deep.equal(['wlc']);
    expect(run.services).to.deep.equal(new Map([['10.0.0.1:80', 'rr']]));
    expect(problems).to.have.lengthOf(2);
    expect(problems[0]).to.match(/^module ip_vs_twos failed to load: .*not found/);
    expect(problems[1]).to.match(/^scheduler wlc: ipvsadm -A failed/);
  });

  it('treats a guest that never finished as a failure', function () {
    const cutOff = parseConsole('IPVS-TEST-BEGIN kernel=6.1.0-56-amd64\r\nMODULE-OK ip_vs\r\nKernel panic - not syncing\r\n');
    const problems = problemsOf({ ...cutOff, timedOut: true, durationMs: 60_000 }, { modules: ['ip_vs', 'ip_vs_rr'], schedulers: ['rr'] });
    expect(problems).to.deep.equal([
      'qemu did not finish before the deadline and was killed',
      'the guest never printed IPVS-TEST-END (panic, hang or early exit)',
      'module ip_vs is not in lsmod output',
      'module ip_vs_rr has no result from the guest',
      'scheduler rr: ipvsadm -Ln shows no 10.0.0.1:80',
    ]);
  });

  it('kills a boot that overruns its deadline and reports it', async function () {
    // The deadline has passed as qemu starts (a latch, not a race against the boot's speed).
    const run = await runIpvsList(ipvs, { deadline: Promise.resolve() });
    expect(run.timedOut).to.equal(true);
    expect(run.completed).to.equal(false);
    expect(problemsOf(run, ipvs)).to.include('qemu did not finish before the deadline and was killed');
  });
});
