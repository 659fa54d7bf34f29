// Names more than one module agrees on: the files of a build directory, the lock's default name and the
// directory the provisioners work in on the instance. Defined here once; nothing else spells them.

/** The Handlebars source of the Packer template, relative to the repository. */
export const TEMPLATE_SOURCE = 'packer/eks-worker.pkr.hcl.hbs';
/** The rendered template in build/<ami_name>/ (packer fmt, validate and build read it). */
export const TEMPLATE_FILE = 'eks-worker.pkr.hcl';
/** The resolved plan next to it. */
export const PLAN_FILE = 'plan.json';
/** The lock `make stage` writes by default and a build replays with lock=. */
export const LOCK_FILE = 'build.lock.json';
/** Where the provisioners, their library and the generated files live on the build instance. */
export const WORK_DIR = '/var/lib/eks-build';
/** Packer's manifest post-processor output in the build directory (the AMIs per region). */
export const MANIFEST_FILE = 'manifest.json';
/** What the build's check step writes about the installed release (RHEL version, kernel), next to it. */
export const VERSION_INFO_FILE = 'version-info.json';
/** Files generated for the instance in the build directory, uploaded to $WORK_DIR/generated. */
export const GENERATED_DIR = 'generated';
/** The public bucket of EKS binaries, the default binary bucket and where `make stage` reads them from. */
export const PUBLIC_EKS_BUCKET = { name: 'amazon-eks', region: 'us-west-2' } as const;
