// `make sweep`, reading: the account's images of every region with their cell tags and snapshots, and every
// reference that keeps an image in use (launch templates and their `resolve:ssm:` parameters, launch
// configurations, auto scaling groups, EKS managed node groups, SSM parameters under the published prefix).
// Planning is in sweep-plan.ts; nothing here changes anything.
import { DescribeAutoScalingGroupsCommand, DescribeLaunchConfigurationsCommand, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import {
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeRegionsCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { DescribeNodegroupCommand, ListClustersCommand, ListNodegroupsCommand } from '@aws-sdk/client-eks';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { UserError } from '../errors.ts';
import type { LifecycleClients } from '../aws/lifecycle-clients.ts';
import { publishedImageIds } from './ssm.ts';
import { ANY_IMAGE, cellOfTags, refKey, type Inventory, type References } from './sweep-plan.ts';

async function allPages<T>(fetch: (token?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    items.push(...page.items);
    token = page.next;
  } while (token);
  return items;
}

/** Enabled regions of the partition the client's region belongs to. */
export async function enabledRegions(clients: LifecycleClients, region: string): Promise<string[]> {
  const out = await clients.ec2(region).send(new DescribeRegionsCommand({}));
  return (out.Regions ?? [])
    .map((r) => r.RegionName!)
    .filter(Boolean)
    .sort();
}

function addReason(refs: References, region: string, imageId: string | undefined, reason: string): void {
  if (!imageId) return;
  const key = refKey(region, imageId);
  const list = refs.get(key) ?? [];
  if (!list.includes(reason)) list.push(reason);
  refs.set(key, list);
}

/**
 * A `resolve:ssm:` parameter's value. Only ParameterNotFound means "names no image"; any other failure
 * (AccessDenied, throttling, a network error) leaves the reference unknown, which the caller treats as in use.
 */
async function readParameter(clients: LifecycleClients, region: string, name: string): Promise<{ value?: string } | { unreadable: string }> {
  try {
    const out = await clients.ssm(region).send(new GetParameterCommand({ Name: name }));
    return { value: out.Parameter?.Value };
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ParameterNotFound') return { value: undefined };
    return { unreadable: `${e.name}: ${e.message}` };
  }
}

/** Launch template versions → image ids; `resolve:ssm:` ids are looked up. Returns a resolver for version specs. */
async function launchTemplateReferences(clients: LifecycleClients, region: string, refs: References) {
  const ec2 = clients.ec2(region);
  const templates = await allPages(async (token) => {
    const out = await ec2.send(new DescribeLaunchTemplatesCommand({ NextToken: token }));
    return { items: out.LaunchTemplates ?? [], next: out.NextToken };
  });
  const imageOf = new Map<string, string>(); // `${templateId}#${version}` → image id
  const meta = new Map<string, { name: string; latest: number; default: number }>();
  for (const lt of templates) {
    const id = lt.LaunchTemplateId!;
    meta.set(id, { name: lt.LaunchTemplateName ?? id, latest: lt.LatestVersionNumber ?? 0, default: lt.DefaultVersionNumber ?? 0 });
    const versions = await allPages(async (token) => {
      const out = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, NextToken: token }));
      return { items: out.LaunchTemplateVersions ?? [], next: out.NextToken };
    });
    for (const v of versions) {
      let image = v.LaunchTemplateData?.ImageId;
      const where = `launch template ${id} (${lt.LaunchTemplateName}) version ${v.VersionNumber}`;
      if (image?.startsWith('resolve:ssm:')) {
        const parameter = image.slice('resolve:ssm:'.length);
        const read = await readParameter(clients, region, parameter);
        if ('unreadable' in read) {
          // Fail closed: the parameter may name any image of the region, so every one of them counts as in use.
          addReason(refs, region, ANY_IMAGE, `${where} refers to SSM parameter ${parameter}, which could not be read (${read.unreadable})`);
          continue;
        }
        image = read.value;
      }
      if (!image) continue;
      imageOf.set(`${id}#${v.VersionNumber}`, image);
      addReason(refs, region, image, where);
    }
  }
  const byName = new Map([...meta].map(([id, m]) => [m.name, id]));
  /** The image of a template version as ASGs and node groups name it (id or name; number, $Latest, $Default). */
  return (spec: { id?: string; name?: string; version?: string }): string | undefined => {
    const id = spec.id ?? (spec.name ? byName.get(spec.name) : undefined);
    if (!id) return undefined;
    const m = meta.get(id);
    if (!m) return undefined;
    const version = !spec.version || spec.version === '$Default' ? m.default : spec.version === '$Latest' ? m.latest : Number(spec.version);
    return imageOf.get(`${id}#${version}`);
  };
}

function asgTemplateSpecs(group: AutoScalingGroup): { id?: string; name?: string; version?: string }[] {
  const specs = [];
  const own = group.LaunchTemplate;
  if (own) specs.push({ id: own.LaunchTemplateId, name: own.LaunchTemplateName, version: own.Version });
  const mixed = group.MixedInstancesPolicy?.LaunchTemplate;
  const base = mixed?.LaunchTemplateSpecification;
  if (base) specs.push({ id: base.LaunchTemplateId, name: base.LaunchTemplateName, version: base.Version });
  for (const o of mixed?.Overrides ?? []) {
    const s = o.LaunchTemplateSpecification;
    if (s) specs.push({ id: s.LaunchTemplateId, name: s.LaunchTemplateName, version: s.Version });
  }
  return specs;
}

async function regionReferences(clients: LifecycleClients, region: string, ssmPrefix: string, refs: References, log: (line: string) => void): Promise<void> {
  const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw new UserError(
        `Could not list ${what} in ${region} (${(error as Error).name}: ${(error as Error).message}). The sweep stops rather than risk removing an image in use; grant the permission or leave ${region} out with regions=….`,
        1,
      );
    }
  };
  const imageOfTemplate = await step('launch templates', () => launchTemplateReferences(clients, region, refs));

  const asg = clients.autoscaling(region);
  const configs = await step('launch configurations', () =>
    allPages(async (token) => {
      const out = await asg.send(new DescribeLaunchConfigurationsCommand({ NextToken: token }));
      return { items: out.LaunchConfigurations ?? [], next: out.NextToken };
    }),
  );
  const configImage = new Map<string, string>();
  for (const lc of configs) {
    if (lc.LaunchConfigurationName && lc.ImageId) configImage.set(lc.LaunchConfigurationName, lc.ImageId);
    addReason(refs, region, lc.ImageId, `launch configuration ${lc.LaunchConfigurationName}`);
  }
  const groups = await step('auto scaling groups', () =>
    allPages(async (token) => {
      const out = await asg.send(new DescribeAutoScalingGroupsCommand({ NextToken: token }));
      return { items: out.AutoScalingGroups ?? [], next: out.NextToken };
    }),
  );
  for (const group of groups) {
    if (group.LaunchConfigurationName)
      addReason(refs, region, configImage.get(group.LaunchConfigurationName), `auto scaling group ${group.AutoScalingGroupName}`);
    for (const spec of asgTemplateSpecs(group)) addReason(refs, region, imageOfTemplate(spec), `auto scaling group ${group.AutoScalingGroupName}`);
  }

  const eks = clients.eks(region);
  const clusters = await step('EKS clusters', () =>
    allPages(async (token) => {
      const out = await eks.send(new ListClustersCommand({ nextToken: token }));
      return { items: out.clusters ?? [], next: out.nextToken };
    }),
  );
  for (const cluster of clusters) {
    const nodegroups = await step(`EKS node groups of ${cluster}`, () =>
      allPages(async (token) => {
        const out = await eks.send(new ListNodegroupsCommand({ clusterName: cluster, nextToken: token }));
        return { items: out.nodegroups ?? [], next: out.nextToken };
      }),
    );
    for (const name of nodegroups) {
      const ng = await step(`EKS node group ${cluster}/${name}`, () => eks.send(new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName: name })));
      const lt = ng.nodegroup?.launchTemplate;
      if (lt) addReason(refs, region, imageOfTemplate({ id: lt.id, name: lt.name, version: lt.version }), `EKS node group ${cluster}/${name}`);
    }
  }

  const parameters = await step(`SSM parameters under ${ssmPrefix}`, () => publishedImageIds(clients, region, ssmPrefix));
  for (const [imageId, names] of parameters) for (const n of names) addReason(refs, region, imageId, `SSM parameter ${n}`);
  log(
    `${region}: ${configs.length} launch configurations, ${groups.length} auto scaling groups, ${clusters.length} EKS clusters, ${parameters.size} published images checked`,
  );
}

export async function gatherInventory(
  clients: LifecycleClients,
  regions: string[],
  ssmPrefix: string,
  log: (line: string) => void = () => {},
): Promise<Inventory> {
  const inventory: Inventory = { images: [], untagged: 0, snapshotUsers: new Map(), references: new Map() };
  for (const region of regions) {
    const images: Image[] = await allPages(async (token) => {
      const out = await clients.ec2(region).send(new DescribeImagesCommand({ Owners: ['self'], IncludeDeprecated: true, NextToken: token }));
      return { items: out.Images ?? [], next: out.NextToken };
    });
    for (const image of images) {
      const tags = Object.fromEntries((image.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      const snapshots = (image.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId).filter((s): s is string => !!s);
      for (const snap of snapshots) {
        const key = `${region}/${snap}`;
        inventory.snapshotUsers.set(key, [...(inventory.snapshotUsers.get(key) ?? []), image.ImageId!]);
      }
      const cell = cellOfTags(tags);
      if (!cell) {
        inventory.untagged++;
        continue;
      }
      inventory.images.push({
        region,
        imageId: image.ImageId!,
        name: image.Name ?? tags.Name ?? image.ImageId!,
        created: image.CreationDate ?? '',
        cell,
        snapshots,
      });
    }
    await regionReferences(clients, region, ssmPrefix, inventory.references, log);
  }
  return inventory;
}
