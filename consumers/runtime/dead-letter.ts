import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';
import { HEADERS } from '../../topology/index.ts';

export interface DeadLetter {
  message: KafkaMessage;
  topic: string;
  partition: number;
  code: string;
  reason: string;
}

/**
 * The original key, value and headers, plus headers naming the error and where the message came
 * from, so an operator can inspect it and replay it to its source topic.
 */
export function deadLetterRecord(letter: DeadLetter, groupId: string): { key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  return {
    key: letter.message.key,
    value: letter.message.value,
    headers: {
      ...(letter.message.headers ?? {}),
      [HEADERS.errorCode]: letter.code,
      [HEADERS.errorMessage]: letter.reason.slice(0, 1000),
      [HEADERS.sourceTopic]: letter.topic,
      [HEADERS.sourcePartition]: String(letter.partition),
      [HEADERS.sourceOffset]: letter.message.offset,
      [HEADERS.failedAt]: new Date().toISOString(),
      [HEADERS.consumerGroup]: groupId,
    },
  };
}

export async function sendDeadLetters(producer: Producer, topic: string, groupId: string, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({ topic, acks: -1, messages: letters.map((l) => deadLetterRecord(l, groupId)) });
}
