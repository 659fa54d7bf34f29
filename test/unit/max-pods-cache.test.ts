// The max-pods table is asked from EC2 once per region, UTC day and endpoint; everything else reuses the copy.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedMaxPods, type MaxPodsKey } from '../../src/resolve/max-pods-cache.ts';

describe('max-pods cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'max-pods-cache-')), 'cache');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  const key: MaxPodsKey = { region: 'us-west-2', endpoint: '', date: new Date('2026-11-30T01:00:00Z') };
  const counting = () => {
    const made: string[] = [];
    return { made, make: (text: string) => async () => (made.push(text), text) };
  };

  it('asks once a day: a later plan the same UTC day gets the same text without asking', async () => {
    const { made, make } = counting();
    expect(await cachedMaxPods(dir, key, make('table A'))).to.equal('table A');
    expect(await cachedMaxPods(dir, { ...key, date: new Date('2026-11-30T23:59:00Z') }, make('table B'))).to.equal('table A');
    expect(made).to.deep.equal(['table A']);
  });

  it('asks again for another day, another region or another EC2 endpoint (an emulator never answers for AWS)', async () => {
    const { made, make } = counting();
    await cachedMaxPods(dir, key, make('aws'));
    expect(await cachedMaxPods(dir, { ...key, date: new Date('2026-12-01T00:00:00Z') }, make('next day'))).to.equal('next day');
    expect(await cachedMaxPods(dir, { ...key, region: 'us-east-1' }, make('east'))).to.equal('east');
    expect(await cachedMaxPods(dir, { ...key, endpoint: 'http://127.0.0.1:5000' }, make('moto'))).to.equal('moto');
    expect(made).to.deep.equal(['aws', 'next day', 'east', 'moto']);
  });

  it('stores nothing when the look-up fails, so the next plan asks again', async () => {
    const failing = async (): Promise<string> => {
      throw new Error('DescribeInstanceTypes failed');
    };
    let error: unknown;
    await cachedMaxPods(dir, key, failing).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal('DescribeInstanceTypes failed');
    expect(existsSync(dir) ? readdirSync(dir) : []).to.deep.equal([]);
    expect(await cachedMaxPods(dir, key, async () => 'fresh')).to.equal('fresh');
  });
});
