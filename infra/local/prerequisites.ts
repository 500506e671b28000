import { missingPrerequisite } from '../setup-failures.ts';
import { runCommand } from './run-command.ts';

// Checked only when a local service needs them, so users who point searchbus at their own
// clusters never need Java or Python.

export async function requireJava(minMajor = 17): Promise<string> {
  const java = process.env.JAVA_HOME ? `${process.env.JAVA_HOME}/bin/java` : 'java';
  const result = await runCommand(java, ['-version']).catch((error: unknown) => {
    throw missingPrerequisite(
      `Java ${minMajor}+`,
      'Install it (Debian: `apt-get install -y openjdk-17-jre-headless`), set JAVA_HOME, or set KAFKA_BROKERS to use an existing Kafka.',
      error,
    );
  });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.output);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : NaN;
  if (result.code !== 0 || !(major >= minMajor)) {
    throw missingPrerequisite(
      `Java ${minMajor}+`,
      `Found: ${result.output.split('\n')[0] ?? 'no version'}. Install Java ${minMajor} or newer, set JAVA_HOME, or set KAFKA_BROKERS.`,
    );
  }
  return java;
}

export async function requireMaven(): Promise<string> {
  const result = await runCommand('mvn', ['-v']).catch((error: unknown) => {
    throw missingPrerequisite(
      'Maven (mvn)',
      'It resolves the Kafka broker and the embedding models from Maven Central. Install it (Debian: `apt-get install -y maven`).',
      error,
    );
  });
  if (result.code !== 0) throw missingPrerequisite('Maven (mvn)', `\`mvn -v\` failed:\n${result.output}`);
  return 'mvn';
}

export async function requirePython(minMinor = 10): Promise<string> {
  const python = process.env.SEARCHBUS_PYTHON ?? 'python3';
  const result = await runCommand(python, ['-c', 'import sys, venv; print(sys.version_info[0], sys.version_info[1])']).catch(
    (error: unknown) => {
      throw missingPrerequisite(
        `Python 3.${minMinor}+ with venv`,
        'It runs the Qdrant Edge engine. Install it (Debian: `apt-get install -y python3 python3-venv`), set SEARCHBUS_PYTHON, or set QDRANT_URL to use a Qdrant server.',
        error,
      );
    },
  );
  const [major, minor] = result.output.trim().split(' ').map(Number);
  if (result.code !== 0 || major !== 3 || minor === undefined || minor < minMinor) {
    throw missingPrerequisite(
      `Python 3.${minMinor}+ with venv`,
      `\`${python}\` answered: ${result.output.trim().split('\n').pop() ?? ''}. Install python3 and python3-venv, set SEARCHBUS_PYTHON, or set QDRANT_URL.`,
    );
  }
  return python;
}
