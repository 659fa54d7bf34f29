// Sharing the image: ami_users, ami_org_arns, ami_ou_arns, snapshot_users. Shapes are checked by the declarations'
// item patterns; here what spans variables, before any AWS call:
//  - an organization or OU ARN must be in the build's partition (launch permissions cannot cross partitions);
//  - an encrypted image can be shared only when its snapshots are encrypted with a customer managed key: the
//    account's default EBS key (aws/ebs, also what an empty kms_key_id means) is AWS managed, its key policy
//    cannot be changed, so no other account could ever use the image. That holds for every copy in ami_regions.
//  - Packer 1.6.6 does not know ami_org_arns/ami_ou_arns (sharingPackerProblem, once Packer's version is known).
import { ConfigError } from '../errors.ts';
import { partitionOf } from '../data/partitions.ts';
import type { PackerInfo } from '../process/packer.ts';
import type { BuildVariables } from './declarations.ts';

/** The AWS managed EBS key, by alias or alias ARN: never shareable. */
const AWS_MANAGED_EBS_KEY = /(^|:)alias\/aws\/ebs$/;

const sharedWith = (v: BuildVariables): string[] =>
  (['ami_users', 'ami_org_arns', 'ami_ou_arns', 'snapshot_users'] as const).filter((name) => v[name].length > 0);

export function sharingProblems(v: BuildVariables): ConfigError[] {
  const problems: ConfigError[] = [];
  const partition = partitionOf(v.aws_region);
  for (const name of ['ami_org_arns', 'ami_ou_arns'] as const) {
    for (const arn of v[name]) {
      const arnPartition = arn.split(':')[1];
      if (partition && arnPartition !== partition) {
        problems.push(new ConfigError(name, v[name], `ARNs in the build partition ${partition} (arn:${partition}:organizations::…)`, `${arn} is in ${arnPartition}; an image can only be shared within its own partition.`));
      }
    }
  }
  const shared = sharedWith(v);
  if (!v.encrypted || shared.length === 0) return problems;
  const why = "an encrypted image can only be shared when its snapshots use a customer managed KMS key whose key policy lets the other accounts use it; the account's default EBS key (aws/ebs) is AWS managed and cannot be shared";
  if (!v.kms_key_id) {
    problems.push(new ConfigError('kms_key_id', '', `a customer managed key when encrypted=true and ${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are'} set`, `Without it the image is encrypted with the account's default EBS key: ${why}. Set kms_key_id= (and region_kms_key_ids= for copies), or drop encrypted=true or the sharing.`));
  } else if (AWS_MANAGED_EBS_KEY.test(v.kms_key_id)) {
    problems.push(new ConfigError('kms_key_id', v.kms_key_id, `a customer managed key when ${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are'} set`, `${why}.`));
  }
  const awsManagedCopies = v.region_kms_key_ids.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]).filter(([, key]) => AWS_MANAGED_EBS_KEY.test(key));
  if (awsManagedCopies.length) {
    problems.push(new ConfigError('region_kms_key_ids', v.region_kms_key_ids, `customer managed keys when ${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are'} set`, `${awsManagedCopies.map(([r]) => r).join(', ')} use aws/ebs: ${why}.`));
  }
  return problems;
}

/** Packer 1.6.6's amazon-ebs rejects ami_org_arns and ami_ou_arns; current Packer's amazon plugin accepts them. */
export function sharingPackerProblem(v: BuildVariables, packer: PackerInfo): ConfigError | undefined {
  const used = (['ami_org_arns', 'ami_ou_arns'] as const).filter((name) => v[name].length > 0);
  if (packer.modern || used.length === 0) return undefined;
  return new ConfigError(used[0], v[used[0]], `unset with Packer ${packer.version}`, `Sharing with organizations or OUs (${used.join(', ')}) needs Packer >= 1.7 with the amazon plugin; Packer ${packer.version}'s amazon-ebs does not know the field. Use current Packer, or share with accounts (ami_users=).`);
}
