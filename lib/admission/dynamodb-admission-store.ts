import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { awsErrorName } from '../aws/aws-errors.ts';
import { type AwsCallLimits, awsCallOptions, DYNAMODB_CALL_LIMITS } from '../aws/call-limits.ts';
import { TOKEN_TABLE } from '../cache/table.ts';
import { acquireTableLease, releaseTableLease } from '../cache/table-lease.ts';
import { GatewayError } from '../errors.ts';
import type { AdmissionStore, LaneState, Reservation, ReservedTurn } from './admission-store.ts';

export interface DynamoDbAdmissionStoreOptions {
  readonly tableName: string;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly callLimits?: AwsCallLimits;
}

const PK = TOKEN_TABLE.partitionKey;
const PREFIX = 'admission#';
/** In-flight slots tried per request before the lane counts as full: each try is one conditional write. */
const SLOT_TRIES = 3;
/** Items outlive what they say by a day before DynamoDB TTL may delete them; reads never rely on TTL. */
const TTL_GRACE_SECONDS = 86_400;

/**
 * The admission state in the token table, shared by every instance. Only single-item conditional writes
 * (no transactions, no TTL expiry, no ReturnValuesOnConditionCheckFailure: dynalite has none, and none is
 * needed). The lane item holds `tat` (the schedule's next free turn, GCRA) and `boff` (the back-off
 * window's end), and every write keeps `tat >= boff`, so a turn is never inside a window.
 */
export class DynamoDbAdmissionStore implements AdmissionStore {
  private readonly now: () => number;
  private readonly random: () => number;
  /** Which slot item each holder took, to release that one. */
  private readonly held = new Map<string, string>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoDbAdmissionStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async reserve(
    lane: string,
    intervalMs: number,
    horizonMs: number,
    now: number,
    knownBusy = false,
  ): Promise<Reservation> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if ((attempt > 0 || !knownBusy) && (await this.reserveIfIdle(lane, intervalMs, now)))
        return { at: now };
      // Busy: the next free turn, if it is near enough.
      const updated = await this.update(
        lane,
        'SET tat = tat + :interval, #ttl = :ttl',
        'tat > :now AND tat <= :limit',
        {
          ':interval': intervalMs,
          ':now': now,
          ':limit': now + horizonMs,
          ':ttl': this.ttl(now + horizonMs),
        },
        true,
      );
      if (updated !== false) return { at: updated - intervalMs };
      const { nextTurnAt } = await this.state(lane);
      // Both conditions failed on a schedule that went idle in between: try again, once.
      if (nextTurnAt > now) return { full: true, freeAt: nextTurnAt };
    }
    return { full: true, freeAt: now + intervalMs };
  }

  /** The schedule is idle (`tat <= now`, and so no window: `tat >= boff`): this turn is now. */
  async reserveIfIdle(lane: string, intervalMs: number, now: number): Promise<boolean> {
    return (
      (await this.update(lane, 'SET tat = :next, #ttl = :ttl', 'attribute_not_exists(tat) OR tat <= :now', {
        ':next': now + intervalMs,
        ':now': now,
        ':ttl': this.ttl(now + intervalMs),
      })) !== false
    );
  }

  async state(lane: string): Promise<LaneState> {
    const item = await this.get(PREFIX + lane);
    return { backoffUntil: Number(item?.boff?.N ?? 0), nextTurnAt: Number(item?.tat?.N ?? 0) };
  }

  async openBackoff(lane: string, until: number): Promise<void> {
    const values = { ':u': until, ':ttl': this.ttl(until) };
    // The schedule moves to the window's end, unless it is already past it (turns reserved after it stay).
    if (
      await this.update(
        lane,
        'SET boff = :u, tat = :u, #ttl = :ttl',
        '(attribute_not_exists(boff) OR boff < :u) AND (attribute_not_exists(tat) OR tat < :u)',
        values,
      )
    )
      return;
    await this.update(lane, 'SET boff = :u', '(attribute_not_exists(boff) OR boff < :u) AND tat >= :u', {
      ':u': until,
    });
  }

  async acquireSlot(lane: string, max: number, holder: string, until: number): Promise<boolean> {
    const first = Math.floor(this.random() * max);
    for (let i = 0; i < Math.min(SLOT_TRIES, max); i++) {
      const pk = `${PREFIX}${lane}#slot#${(first + i) % max}`;
      const lease = { tableName: this.options.tableName, pk, holder, until, ttlSeconds: this.ttl(until) };
      const taken = await acquireTableLease(
        this.client,
        { ...lease, now: this.now() },
        this.callOptions(),
      ).catch((error: unknown) => {
        throw unavailable('PutItem (slot)', error);
      });
      if (taken) {
        this.held.set(holder, pk);
        return true;
      }
    }
    return false;
  }

  async releaseSlot(_lane: string, holder: string): Promise<void> {
    const pk = this.held.get(holder);
    if (pk === undefined) return;
    this.held.delete(holder);
    const lease = { tableName: this.options.tableName, pk, holder };
    await releaseTableLease(this.client, lease, this.callOptions()).catch((error: unknown) => {
      throw unavailable('DeleteItem (slot)', error);
    });
  }

  async getTurn(lane: string, key: string): Promise<ReservedTurn | undefined> {
    const item = await this.get(`${PREFIX}${lane}#turn#${key}`);
    const at = Number(item?.at?.N);
    const until = Number(item?.until?.N);
    return Number.isFinite(at) && until > this.now() ? { at, until } : undefined;
  }

  async putTurn(lane: string, key: string, turn: ReservedTurn): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            [PK]: { S: `${PREFIX}${lane}#turn#${key}` },
            at: { N: String(turn.at) },
            until: { N: String(turn.until) },
            [TOKEN_TABLE.ttlAttribute]: { N: String(this.ttl(turn.until)) },
          },
        }),
        this.callOptions(),
      );
    } catch (error) {
      throw unavailable('PutItem (turn)', error);
    }
  }

  async takeTurn(lane: string, key: string, turn: ReservedTurn): Promise<boolean> {
    return this.deleteIf(
      `${PREFIX}${lane}#turn#${key}`,
      '#at = :at',
      { ':at': { N: String(turn.at) } },
      'DeleteItem (turn)',
      { '#at': 'at' },
    );
  }

  /**
   * A conditional UpdateItem of the lane item; false when the condition failed. With `returnTat`, the new
   * `tat` (ReturnValues UPDATED_NEW answers only on success, which is all that is read).
   */
  private async update(
    lane: string,
    expression: string,
    condition: string,
    values: Record<string, number>,
    returnTat?: true,
  ): Promise<number | false> {
    try {
      const output = await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: { [PK]: { S: PREFIX + lane } },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ...(expression.includes('#ttl')
            ? { ExpressionAttributeNames: { '#ttl': TOKEN_TABLE.ttlAttribute } }
            : {}),
          ExpressionAttributeValues: Object.fromEntries(
            Object.entries(values).map(([name, value]) => [name, { N: String(value) }]),
          ),
          ...(returnTat ? { ReturnValues: 'UPDATED_NEW' as const } : {}),
        }),
        this.callOptions(),
      );
      return returnTat ? Number(output.Attributes?.tat?.N) : 1;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable('UpdateItem (admission)', error);
    }
  }

  private async get(pk: string) {
    try {
      const output = await this.client.send(
        new GetItemCommand({
          TableName: this.options.tableName,
          Key: { [PK]: { S: pk } },
          ConsistentRead: true,
        }),
        this.callOptions(),
      );
      return output.Item;
    } catch (error) {
      throw unavailable('GetItem (admission)', error);
    }
  }

  private async deleteIf(
    pk: string,
    condition: string,
    values: Record<string, { S: string } | { N: string }>,
    operation: string,
    names?: Record<string, string>,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.options.tableName,
          Key: { [PK]: { S: pk } },
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ...(names ? { ExpressionAttributeNames: names } : {}),
        }),
        this.callOptions(),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable(operation, error);
    }
  }

  private ttl(untilMs: number): number {
    return Math.ceil(untilMs / 1000) + TTL_GRACE_SECONDS;
  }

  private callOptions() {
    return awsCallOptions(this.options.callLimits ?? DYNAMODB_CALL_LIMITS);
  }
}

/** Any failure sends admission to its per-instance fallback (TargetAdmission), so one code says it. */
function unavailable(operation: string, cause: unknown): GatewayError {
  return new GatewayError('ERR_CACHE_UNAVAILABLE', `DynamoDB ${operation} failed (${awsErrorName(cause)})`, {
    cause,
  });
}
