/**
 * What the demo does: who connects, what they subscribe to, what gets published, and who must
 * receive each publish. `demo-run.ts` plays it; the expectations here are what it checks.
 */
import type { TRPCClient } from '@trpc/client';
import type { AppRouter, ChatMessage, appSubscriptions } from './app-router';
import type { ROOM_ANNOUNCEMENT, RoomAnnouncementEvent } from './producer';
import type { PublishResult } from '../lambda';

/** A subscription route of the example router. */
export type DemoRoute = 'onMessage' | 'chat.onTyping';

/** One subscription a demo client starts. */
export interface DemoSubscription {
  /** Row label in the report, unique: `alice (laptop) onMessage lobby`. */
  readonly id: string;
  readonly client: string;
  readonly route: DemoRoute;
  /** Input of `onMessage`. */
  readonly room?: string;
}

/** A demo client: one WebSocket connection, one user (sent as `connectionParams`). */
export interface DemoClient {
  readonly name: string;
  readonly userId: string;
  readonly subscriptions: readonly { readonly route: DemoRoute; readonly room?: string }[];
}

/** The clients of the demo. */
export const DEMO_CLIENTS: readonly DemoClient[] = [
  { name: 'alice (laptop)', userId: 'alice', subscriptions: [{ route: 'onMessage', room: 'lobby' }, { route: 'chat.onTyping' }] },
  { name: 'alice (phone)', userId: 'alice', subscriptions: [{ route: 'onMessage', room: 'garden' }] },
  { name: 'bob', userId: 'bob', subscriptions: [{ route: 'onMessage', room: 'lobby' }, { route: 'chat.onTyping' }] },
  { name: 'carol', userId: 'carol', subscriptions: [{ route: 'onMessage', room: 'garden' }] },
  // `lobby` is a prefix of `lobby-2`: publishes to `lobby` must not reach dave.
  { name: 'dave', userId: 'dave', subscriptions: [{ route: 'onMessage', room: 'lobby-2' }] },
];

/** Every subscription of {@link DEMO_CLIENTS}, in report order. */
export const DEMO_SUBSCRIPTIONS: readonly DemoSubscription[] = DEMO_CLIENTS.flatMap((client) =>
  client.subscriptions.map((subscription) => ({
    id: `${client.name} ${subscription.route}${subscription.room ? ` ${subscription.room}` : ''}`,
    client: client.name,
    ...subscription,
  })),
);

/** What a step may use. */
export interface DemoActors {
  /** The example's producer Lambda handler (`example/producer.ts`). */
  readonly producer: (event: RoomAnnouncementEvent) => Promise<PublishResult>;
  /** `appSubscriptions.publisher()`, as a backend script would use it. */
  readonly publisher: ReturnType<typeof appSubscriptions.publisher>;
  /** The tRPC client of a demo client, by name. */
  client(name: string): TRPCClient<AppRouter>;
}

/** The part of a publish outcome the report shows. */
export interface StepOutcome {
  /** Subscriptions the publish found (unknown for a mutation, which returns `delivered` only). */
  readonly matched?: number;
  readonly delivered: number;
}

/** One publish of the demo. */
export interface DemoStep {
  /** What happens, for a newcomer. */
  readonly title: string;
  /** The route and filter, as written in code. */
  readonly target: string;
  /**
   * The payload (a chat message's `text`, or the typing user id) that identifies this step's
   * deliveries; unique per step.
   */
  readonly marker: string;
  /** Ids of the subscriptions that must receive it, exactly once; every other one must not. */
  readonly expected: readonly string[];
  run(actors: DemoActors): Promise<StepOutcome>;
}

const message = (text: string, from: string): ChatMessage => ({ text, from, at: new Date() });

/** A RoomAnnouncement event as EventBridge delivers it to the producer. */
function announcementEvent(room: string, text: string): RoomAnnouncementEvent {
  const detailType: typeof ROOM_ANNOUNCEMENT = 'RoomAnnouncement';
  return {
    'version': '0',
    'id': `demo-${Date.now()}`,
    'detail-type': detailType,
    'source': 'demo.ci',
    'account': '000000000000',
    'time': new Date().toISOString(),
    'region': 'local',
    'resources': [],
    'detail': { room, text, from: 'ci-bot' },
  };
}

const outcome = (result: PublishResult): StepOutcome => ({ matched: result.matched, delivered: result.delivered });

/** The publishes, in order. */
export const DEMO_STEPS: readonly DemoStep[] = [
  {
    title: 'The producer Lambda handles an EventBridge RoomAnnouncement for room "lobby"',
    target: "onMessage, filter byRoom { room: 'lobby' } (exact)",
    marker: 'Build #42 is green',
    expected: ['alice (laptop) onMessage lobby', 'bob onMessage lobby'],
    run: async ({ producer }) => outcome(await producer(announcementEvent('lobby', 'Build #42 is green'))),
  },
  {
    title: 'A backend script messages carol in room "garden"',
    target: "onMessage, filter byUserAndRoom { userId: 'carol' } + { room: 'garden' } (exact)",
    marker: 'Your order shipped',
    expected: ['carol onMessage garden'],
    run: async ({ publisher }) => outcome(await publisher.routes.onMessage.publish({
      data: message('Your order shipped', 'shop'),
      filter: { name: 'byUserAndRoom', ctx: { userId: 'carol' }, input: { room: 'garden' } },
    })),
  },
  {
    title: 'A backend script messages alice in every room (ctx-only prefix of the filter)',
    target: "onMessage, filter byUserAndRoom { userId: 'alice' } (prefix)",
    marker: 'Password changed',
    expected: ['alice (laptop) onMessage lobby', 'alice (phone) onMessage garden'],
    run: async ({ publisher }) => outcome(await publisher.routes.onMessage.publish({
      data: message('Password changed', 'security'),
      filter: { name: 'byUserAndRoom', ctx: { userId: 'alice' } },
    })),
  },
  {
    title: 'A backend script broadcasts to every onMessage subscriber',
    target: 'onMessage, no filter (each subscription once, although onMessage has two filters)',
    marker: 'Maintenance at 22:00',
    expected: [
      'alice (laptop) onMessage lobby', 'alice (phone) onMessage garden', 'bob onMessage lobby',
      'carol onMessage garden', 'dave onMessage lobby-2',
    ],
    run: async ({ publisher }) => outcome(await publisher.routes.onMessage.publish({ data: message('Maintenance at 22:00', 'ops') })),
  },
  {
    title: 'A backend script tells bob\'s devices that bob is typing (nested route)',
    target: "chat.onTyping, filter byUser { userId: 'bob' }",
    marker: 'bob',
    expected: ['bob chat.onTyping'],
    run: async ({ publisher }) => outcome(await publisher.routes.chat.onTyping.publish({
      data: 'bob',
      filter: { name: 'byUser', ctx: { userId: 'bob' } },
    })),
  },
  {
    title: 'bob calls the sendMessage mutation for room "lobby" (the server publishes, excluding bob)',
    target: "onMessage, filter byRoom { room: 'lobby' }, excludeConnectionId: bob's",
    marker: 'Hi all, bob here',
    expected: ['alice (laptop) onMessage lobby'],
    run: async ({ client }) => {
      const { delivered } = await client('bob').sendMessage.mutate({ room: 'lobby', text: 'Hi all, bob here' });
      return { delivered };
    },
  },
];
