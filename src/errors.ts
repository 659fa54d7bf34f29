// Errors a user can act on. Each kind maps to one exit code so scripts and CI can tell them apart.

export const EXIT = {
  ok: 0,
  /** Bad input: unknown or invalid variable, impossible combination. Nothing was written, no AWS call made. */
  config: 2,
  /** AWS answered, but nothing matched (no Kubernetes build, no source AMI). */
  resolution: 3,
  /** The rendered template failed `packer validate` or `packer fmt`. */
  template: 4,
  /** A required tool (packer) is missing or unusable. */
  tool: 5,
  /** AWS refused a request: no or expired credentials, access denied, region not enabled, throttled. */
  aws: 7,
  interrupted: 130,
} as const;

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A build variable (or option) has a value that is not allowed. */
export class ConfigError extends UserError {
  constructor(
    readonly variable: string,
    readonly value: unknown,
    readonly allowed: string,
    readonly hint = '',
  ) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
    super(`${variable}=${shown} is not allowed: ${allowed}.${hint ? ` ${hint}` : ''}`, EXIT.config);
  }
}

/** Several configuration problems, reported together so the user fixes them in one go. */
export class ConfigErrors extends UserError {
  constructor(readonly problems: UserError[]) {
    super(problems.map((p) => `  - ${p.message}`).join('\n'), EXIT.config);
  }
}

export class ResolutionError extends UserError {
  constructor(message: string) {
    super(message, EXIT.resolution);
  }
}

export class TemplateError extends UserError {
  constructor(message: string) {
    super(message, EXIT.template);
  }
}

export class ToolError extends UserError {
  constructor(message: string) {
    super(message, EXIT.tool);
  }
}
