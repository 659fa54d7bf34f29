// SSM parameters naming the newest image of each cell, per region, for consumers (launch templates can say
// `resolve:ssm:/rhel-eks-ami/rhel-9/1.28/x86_64/standard/image_id`). Published after a successful build;
// the sweep never removes an image a parameter under the prefix points at.
import { GetParametersByPathCommand, PutParameterCommand, type Parameter } from '@aws-sdk/client-ssm';
import { ConfigError } from '../errors.ts';
import type { AmiByRegion } from '../report/summary.ts';
import type { LifecycleClients } from '../aws/lifecycle-clients.ts';
import type { Cell } from './matrix.ts';

export const DEFAULT_SSM_PREFIX = '/rhel-eks-ami';
export const SSM_PREFIX_PATTERN = '(/[A-Za-z0-9_.-]+)+';

export function checkPrefix(prefix: string): string {
  if (!new RegExp(`^${SSM_PREFIX_PATTERN}$`).test(prefix) || /^\/(aws|ssm)(\/|$)/i.test(prefix)) {
    throw new ConfigError('ssm_prefix', prefix, 'a parameter path such as /rhel-eks-ami (letters, digits, _ . -; not under /aws or /ssm)');
  }
  return prefix;
}

/** `/<prefix>/rhel-9/1.28/x86_64/standard/image_id` */
export const imageIdParameter = (prefix: string, cell: Cell): string =>
  `${checkPrefix(prefix)}/rhel-${cell.rhel_version}/${cell.k8s}/${cell.arch}/${cell.variant}/image_id`;

export interface PublishedParameter {
  region: string;
  name: string;
  value: string;
  version: number;
}

/** Write the cell's image_id parameter in every region the image was registered in. */
export async function publishImageParameters(clients: LifecycleClients, prefix: string, cell: Cell, amis: AmiByRegion[]): Promise<PublishedParameter[]> {
  const name = imageIdParameter(prefix, cell);
  const published: PublishedParameter[] = [];
  for (const { region, ami } of amis) {
    const out = await clients.ssm(region).send(
      new PutParameterCommand({
        Name: name,
        Value: ami,
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: true,
        Description: `Newest EKS worker AMI for Kubernetes ${cell.k8s}, RHEL ${cell.rhel_version}, ${cell.arch}, ${cell.variant}`,
      }),
    );
    published.push({ region, name, value: ami, version: out.Version ?? 0 });
  }
  return published;
}

/** Every parameter under the prefix whose value is an AMI id: AMI id → parameter names. */
export async function publishedImageIds(clients: LifecycleClients, region: string, prefix: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  let token: string | undefined;
  do {
    const page = await clients.ssm(region).send(new GetParametersByPathCommand({ Path: checkPrefix(prefix), Recursive: true, NextToken: token }));
    for (const p of page.Parameters ?? ([] as Parameter[])) {
      if (p.Name && p.Value && /^ami-[0-9a-f]+$/.test(p.Value)) found.set(p.Value, [...(found.get(p.Value) ?? []), p.Name]);
    }
    token = page.NextToken;
  } while (token);
  return found;
}
