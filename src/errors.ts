/**
 * One small error hierarchy with stable codes: callers branch on `code`, never on message
 * text. Parts add their codes here so the full list stays readable in one place.
 */
export type ErrorCode =
  | 'PS_ERR_CONFIG'
  | 'PS_ERR_MISSING_BINARY'
  | 'PS_ERR_SERVICE_START'
  | 'PS_ERR_MIGRATION'
  | 'PS_ERR_SECRET'
  | 'PS_ERR_VALIDATION'
  | 'PS_ERR_NOT_FOUND'
  | 'PS_ERR_AUTH'
  | 'PS_ERR_PERMISSION'
  | 'PS_ERR_JOB_STATE'
  | 'PS_ERR_RRULE'
  | 'PS_ERR_LAUNCH'
  | 'PS_ERR_DISPATCHER'
  | 'PS_ERR_CREDENTIAL_LOOKUP'
  | 'PS_ERR_LDAP';

export class PlaystreamError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class ConfigError extends PlaystreamError {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super('PS_ERR_CONFIG', `invalid ${variable}: ${problem}`);
    this.variable = variable;
  }
}

export class MissingBinaryError extends PlaystreamError {
  readonly binary: string;
  readonly debianPackage: string;
  constructor(binary: string, debianPackage: string, detail = '') {
    super('PS_ERR_MISSING_BINARY',
      `${binary} not found${detail ? ` (${detail})` : ''}: install it with \`apt-get install -y ${debianPackage}\``);
    this.binary = binary;
    this.debianPackage = debianPackage;
  }
}
