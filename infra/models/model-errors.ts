import { InfraError } from '../errors.ts';

/** The downloaded jar is not the one the registry pins: refuse it rather than run an unknown model. */
export class ModelIntegrityError extends InfraError {
  override readonly name = 'ModelIntegrityError';
  constructor(
    readonly modelId: string,
    readonly artifact: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(
      `Model ${modelId}: ${artifact} has sha256 ${actualSha256}, but topology/models.ts pins ${expectedSha256}. ` +
        'The artefact changed or was corrupted; delete it from the local Maven repository (~/.m2) and retry, ' +
        'or update the pin only after checking where the new jar came from.',
      { code: 'model-integrity' },
    );
  }
}

/** The registry answered but has no such artefact: a wrong coordinate in the model registry. */
export class ModelArtifactNotFoundError extends InfraError {
  override readonly name = 'ModelArtifactNotFoundError';
  constructor(
    readonly modelId: string,
    readonly artifact: string,
    output: string,
  ) {
    super(`Model ${modelId}: Maven Central has no artifact ${artifact}; fix its coordinates in topology/models.ts.\n${output}`, { code: 'model-artifact-not-found' });
  }
}

/** The jar lacks a file the model registry names. */
export class ModelFileMissingError extends InfraError {
  override readonly name = 'ModelFileMissingError';
  constructor(
    readonly modelId: string,
    readonly artifact: string,
    readonly file: string,
    available: readonly string[],
  ) {
    super(`Model ${modelId}: ${artifact} has no ${file}. It contains: ${available.join(', ')}.`, { code: 'model-file-missing' });
  }
}

/** A file derived in setup (optimised graph, per-channel int8) is not the one its pin describes. */
export class DerivedModelIntegrityError extends InfraError {
  override readonly name = 'DerivedModelIntegrityError';
  constructor(
    readonly modelId: string,
    readonly kind: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(
      `Model ${modelId}: the ${kind} file derived by infra/models/graph-tools has sha256 ${actualSha256}, but ` +
        `topology/model-variants.ts pins ${expectedSha256}. The tools' versions (graph-tools/requirements.txt) ` +
        'or the source file changed; re-pin only after checking the new file against the reference vectors.',
      { code: 'model-integrity' },
    );
  }
}

/** A media model file (downloaded, or written by the conversion) is not the one the registry pins. */
export class MediaModelIntegrityError extends InfraError {
  override readonly name = 'MediaModelIntegrityError';
  constructor(
    readonly modelId: string,
    readonly file: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
    why: string,
  ) {
    super(
      `Media model ${modelId}: ${file} has sha256 ${actualSha256}, but topology/media-models.ts pins ${expectedSha256}. ${why}`,
      { code: 'model-integrity' },
    );
  }
}

/** A derived file was asked for a model that has no pin for it. */
export class DerivedModelUnavailableError extends InfraError {
  override readonly name = 'DerivedModelUnavailableError';
  constructor(
    readonly modelId: string,
    readonly kind: string,
  ) {
    super(`Model ${modelId} has no pinned ${kind} file in topology/model-variants.ts; use the stock/registry file.`, { code: 'model-variant-unavailable' });
  }
}

/** The conversion of a media model (a Python script in the setup venv) failed. */
export class MediaModelConversionError extends InfraError {
  override readonly name = 'MediaModelConversionError';
  constructor(
    readonly modelId: string,
    output: string,
  ) {
    super(`Media model ${modelId}: the conversion to ONNX failed:\n${output.slice(-2000)}`, { code: 'model-conversion-failed' });
  }
}
