// A video's frames, sampled by ffmpeg, each with its time; and the streams it holds (ffprobe).
// ffmpeg picks the first frame and then the first one at least an interval after the last picked
// (its `select` filter), writes each as a lossless PNG, and its `showinfo` filter prints each picked
// frame's presentation time, which is the timestamp kept in the payload. Both tools read a file path:
// an MP4 often keeps its index at the end, which needs seeking.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ContractError, type MediaErrorCode } from '../../../topology/errors.ts';
import { ffmpegMissingError } from './audio-decode.ts';

export interface VideoProbe {
  readonly durationSeconds: number;
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
}

export interface FrameSampling {
  /** A frame every this many milliseconds (SEARCHBUS_MEDIA_VIDEO_FRAME_INTERVAL_MS)... */
  readonly intervalMs: number;
  /** ...but at most this many per video (SEARCHBUS_MEDIA_VIDEO_MAX_FRAMES). */
  readonly maxFrames: number;
}

export interface SampledFrame {
  /** Presentation time of the frame, seconds from the start of the video. */
  readonly atSeconds: number;
  /** The frame as a PNG file (in the caller's scratch directory). */
  readonly path: string;
}

export interface VideoTools {
  readonly ffmpegPath?: string;
  readonly ffprobePath?: string;
}

/** Seconds between sampled frames: the configured interval, stretched so a long video stays within maxFrames. */
export function samplingIntervalSeconds(durationSeconds: number, sampling: FrameSampling): number {
  const interval = sampling.intervalMs / 1000;
  return Number.isFinite(durationSeconds) && durationSeconds > 0 ? Math.max(interval, durationSeconds / sampling.maxFrames) : interval;
}

/** ffprobe's JSON (`-show_entries format=duration:stream=codec_type`) -> what the video holds. */
export function parseProbe(json: string): VideoProbe {
  let parsed: { streams?: Array<{ codec_type?: unknown }>; format?: { duration?: unknown } };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch {
    throw new ContractError<MediaErrorCode>('media-undecodable', 'ffprobe did not describe the video');
  }
  const types = (parsed.streams ?? []).map((s) => s.codec_type);
  const duration = Number(parsed.format?.duration);
  return {
    durationSeconds: Number.isFinite(duration) ? duration : NaN,
    hasVideo: types.includes('video'),
    hasAudio: types.includes('audio'),
  };
}

/** The presentation times showinfo printed, one per frame it passed, in output order. */
export function parseShowinfoTimes(stderr: string): number[] {
  const times: number[] = [];
  for (const match of stderr.matchAll(/\bn:\s*(\d+)\s+pts:\s*-?\d+\s+pts_time:\s*(-?[0-9.]+(?:e[-+]?\d+)?)/g)) {
    if (Number(match[1]) !== times.length)
      throw new ContractError<MediaErrorCode>(
        'media-undecodable',
        `ffmpeg reported frame ${match[1]} where frame ${times.length} was expected`,
      );
    times.push(Number(match[2]));
  }
  return times;
}

export async function probeVideo(path: string, tools: VideoTools = {}): Promise<VideoProbe> {
  const { stdout } = await run(
    tools.ffprobePath ?? 'ffprobe',
    ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type', '-of', 'json', path],
    'read the video',
  );
  return parseProbe(stdout);
}

/** Samples the video's frames into `dir` (which must be empty): at most `sampling.maxFrames`, in time order. */
export async function sampleFrames(
  path: string,
  dir: string,
  probe: VideoProbe,
  sampling: FrameSampling,
  tools: VideoTools = {},
): Promise<SampledFrame[]> {
  if (!probe.hasVideo) throw new ContractError<MediaErrorCode>('media-undecodable', 'the file holds no video stream');
  const interval = samplingIntervalSeconds(probe.durationSeconds, sampling);
  // `\,` keeps the comma inside the expression (the filter graph splits filters at commas).
  const select = `select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${interval.toFixed(3)}),showinfo`;
  const args = [
    '-nostdin',
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'info',
    '-i',
    path,
    '-map',
    '0:v:0',
    '-vf',
    select,
    '-fps_mode',
    'vfr',
  ];
  args.push('-frames:v', String(sampling.maxFrames), '-f', 'image2', join(dir, 'frame-%06d.png'));
  const { stderr } = await run(tools.ffmpegPath ?? 'ffmpeg', args, 'sample the video frames');
  const times = parseShowinfoTimes(stderr);
  const files = (await readdir(dir)).filter((f) => f.startsWith('frame-')).sort();
  if (files.length === 0) throw new ContractError<MediaErrorCode>('media-undecodable', 'ffmpeg found no frame in the video');
  if (files.length !== times.length)
    throw new ContractError<MediaErrorCode>('media-undecodable', `ffmpeg wrote ${files.length} frames but timed ${times.length}`);
  return files.map((file, i) => ({ atSeconds: Math.max(0, times[i]!), path: join(dir, file) }));
}

const MAX_OUTPUT_CHARS = 4 * 1024 * 1024;

function run(command: string, args: string[], what: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString('utf8')).slice(0, MAX_OUTPUT_CHARS)));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(0, MAX_OUTPUT_CHARS)));
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? ffmpegMissingError(error) : error));
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new ContractError<MediaErrorCode>(
            'media-undecodable',
            `${command} could not ${what} (exit ${code}): ${lastLines(stderr) || 'no message'}`,
          ),
        );
    });
  });
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' ').slice(-600);
}
