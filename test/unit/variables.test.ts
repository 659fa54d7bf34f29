// Declarations, schema, coercion, names and precedence: the configuration a user gets from what they typed.
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArguments } from '../../src/cli/arguments.ts';
import { ConfigErrors } from '../../src/errors.ts';
import { configure, withMinor } from '../../src/variables/configure.ts';
import { builtInDefaults, declarations, variableNames } from '../../src/variables/declarations.ts';
import { composeLayers } from '../../src/variables/layers.ts';
import { buildVariablesSchema, schemaProblems } from '../../src/variables/schema.ts';

async function configError(words: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    await configure(words, env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigErrors);
    expect((error as ConfigErrors).exitCode).to.equal(2);
    return (error as Error).message;
  }
  throw new Error(`configure(${words.join(' ')}) accepted bad input`);
}

const tmp = () => mkdtempSync(join(tmpdir(), 'vars-'));

describe('build variable declarations', () => {
  it('derive a schema with every variable, its type and default, and no extra properties', () => {
    const schema = buildVariablesSchema() as { properties: Record<string, { type: string; default: unknown }>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).to.deep.equal(variableNames);
    expect(schema.additionalProperties).to.equal(false);
    expect(schema.properties.volume_size).to.include({ type: 'integer', default: 20 });
    expect(schema.properties.ami_regions.type).to.equal('array');
    expect(schema.properties.pull_cni_from_github).to.include({ type: 'boolean', default: true });
  });

  it('have defaults that pass their own schema and a description each', () => {
    expect(schemaProblems(builtInDefaults() as unknown as Record<string, unknown>)).to.deep.equal([]);
    for (const name of variableNames) expect(declarations[name].description, name).to.match(/\w{3,}/);
  });
});

describe('command-line words', () => {
  it('take a bare minor as k8s and keep every name=value', () => {
    const parsed = parseArguments(['1.28', 'arch=arm64', 'source_ami_filter_name=RHEL9_STIG_BASE*2023-04-14*']);
    expect(parsed.options.k8s).to.equal('1.28');
    expect(parsed.commandLine.values).to.deep.equal({ arch: 'arm64', source_ami_filter_name: 'RHEL9_STIG_BASE*2023-04-14*' });
  });

  it('reject an unknown name with the closest known one', async () => {
    const message = await configError(['1.28', 'aws_regoin=us-east-1']);
    expect(message).to.contain('aws_regoin').and.to.contain('Did you mean aws_region?');
  });

  it('reject a word that is neither a minor nor name=value', async () => {
    expect(await configError(['latest'])).to.contain("'latest' is neither a Kubernetes minor");
  });

  it("accept the existing sample's iam_role as iam_instance_profile", async () => {
    const config = await configure(['1.28', 'iam_role=EC2Role'], {});
    expect(config.values.iam_instance_profile).to.equal('EC2Role');
    expect(config.sourceOf.iam_instance_profile).to.equal('command line');
  });

  it('coerce types and name the variable, value and what is allowed when they do not fit', async () => {
    const config = await configure(['1.28', 'volume_size=40', 'encrypted=true', 'ami_regions=us-east-1,us-east-2'], {});
    expect(config.values.volume_size).to.equal(40);
    expect(config.values.encrypted).to.equal(true);
    expect(config.values.ami_regions).to.deep.equal(['us-east-1', 'us-east-2']);
    const message = await configError(['1.28', 'volume_size=big', 'encrypted=yes', 'arch=amd64']);
    expect(message).to.contain('volume_size="big" is not allowed: a whole number');
    expect(message).to.contain('encrypted="yes" is not allowed: true or false');
  });
});

describe('precedence: defaults < per-minor < presets < variable file < command line', () => {
  it('applies each layer over the one before and records where each value came from', async () => {
    const dir = tmp();
    const file = join(dir, 'vars.json');
    writeFileSync(file, JSON.stringify({ aws_region: 'us-gov-east-1', pause_image_tag: '3.8', volume_size: 30 }));
    // govcloud preset sets aws_region=us-gov-west-1 and encrypted=true; 1.28 defaults set pause_image_tag=3.9.
    const config = await configure(['1.28', 'preset=govcloud', 'volume_size=50'], { PACKER_VARIABLE_FILE: file });
    expect(config.values.encrypted).to.equal(true);
    expect(config.sourceOf.encrypted).to.equal('preset govcloud');
    expect(config.values.aws_region).to.equal('us-gov-east-1');
    expect(config.sourceOf.aws_region).to.equal(file);
    expect(config.values.pause_image_tag).to.equal('3.8');
    expect(config.values.volume_size).to.equal(50);
    expect(config.sourceOf.volume_size).to.equal('command line');
    expect(config.sourceOf.arch).to.equal('default');
  });

  it('applies per-minor defaults under everything the user set', async () => {
    const plain = await configure(['1.28'], {});
    expect(plain.values.pause_image_tag).to.equal('3.9');
    expect(plain.sourceOf.pause_image_tag).to.equal('Kubernetes 1.28 defaults');
    const overridden = await configure(['1.28', 'pause_image_tag=3.10'], {});
    expect(overridden.values.pause_image_tag).to.equal('3.10');
  });

  it('adds the per-minor layer once a discovered minor is known (plain make)', async () => {
    const draft = await configure([], {});
    expect(draft.minor).to.equal('');
    expect(draft.values.pause_image_tag).to.equal('3.10');
    const known = withMinor(draft, '1.29');
    expect(known.values.pause_image_tag).to.equal('3.9');
  });

  it('reads .pkrvars.hcl variable files, from the environment or the command line', async () => {
    const file = join(tmp(), 'my.pkrvars.hcl');
    writeFileSync(file, 'arch = "arm64"\nami_regions = ["us-east-1"]\nvolume_size = 25\n');
    const fromEnv = await configure(['1.28'], { PACKER_VARIABLE_FILE: file });
    expect(fromEnv.values).to.include({ arch: 'arm64', volume_size: 25 });
    expect(fromEnv.values.ami_regions).to.deep.equal(['us-east-1']);
    const fromArg = await configure(['1.28', `PACKER_VARIABLE_FILE=${file}`, 'arch=x86_64'], {});
    expect(fromArg.values.arch).to.equal('x86_64');
  });

  it('reports an unknown name in a variable file with the file it came from', async () => {
    const file = join(tmp(), 'bad.json');
    writeFileSync(file, JSON.stringify({ instance_typ: 'm5.large' }));
    const message = await configError(['1.28'], { PACKER_VARIABLE_FILE: file });
    expect(message).to.contain(`instance_typ="m5.large" (${file})`).and.to.contain('Did you mean instance_type?');
  });

  it('rejects a variable file that does not exist or does not parse', async () => {
    expect(await configError(['1.28', 'PACKER_VARIABLE_FILE=/nonexistent.json'])).to.contain('PACKER_VARIABLE_FILE="/nonexistent.json"');
    const file = join(tmp(), 'broken.json');
    writeFileSync(file, '{ not json');
    expect(await configError(['1.28'], { PACKER_VARIABLE_FILE: file })).to.contain('does not parse');
  });

  it('rejects an unknown preset, listing the ones there are', async () => {
    expect(await configError(['1.28', 'preset=gov'])).to.match(/preset="gov" is not allowed: one of .*govcloud/);
  });

  it('composes layers without touching the built-in defaults', () => {
    composeLayers([{ source: 'test', values: { ipvs_modules: ['ip_vs'] } }]);
    expect(builtInDefaults().ipvs_modules.length).to.be.greaterThan(10);
  });
});
