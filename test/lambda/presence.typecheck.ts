/**
 * Compile-time tests of room presence's types (checked by `tsc -p tsconfig.dev.json`): every
 * `@ts-expect-error` line must be an error. Nothing here runs.
 */
import { initTRPC } from '@trpc/server';
import { z } from 'zod';
import { applyPresence, emptyPresence } from '../../client';
import { initSubscriptions, type PresenceEvent, type PresenceMember } from '../../lambda';

const subscriptions = initSubscriptions();
interface Ctx {
  readonly userId: string;
  readonly name: string;
  readonly admin: boolean;
}
const t = initTRPC.context<Ctx>().create();
interface Member {
  readonly name: string;
}
const router = t.router({
  members: t.procedure.input(z.object({ room: z.string(), floor: z.number() })).subscription(subscriptions.resolver<PresenceEvent<Member>>()),
  onMessage: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<{ readonly text: string }>()),
});
const base = subscriptions.router({ router, createContext: () => ({ userId: 'u', name: 'n', admin: false }), connectionKey: (ctx) => `user:${ctx.userId}` })
  .routes.members.filter({ name: 'byRoom', input: { room: true, floor: true } })
  .routes.onMessage.filter({ name: 'byRoom', input: { room: true } });

const app = base.routes.members.presence({ filter: 'byRoom', member: (ctx) => ({ name: ctx.name }), leaveGraceMs: 1000 });

// @ts-expect-error the filter must be one of the route's
base.routes.members.presence({ filter: 'byUser', member: (ctx) => ({ name: ctx.name }) });
// @ts-expect-error member() must return the route's member type
base.routes.members.presence({ filter: 'byRoom', member: (ctx) => ({ nickname: ctx.name }) });
// @ts-expect-error member() reads the route's ctx
base.routes.members.presence({ filter: 'byRoom', member: (ctx) => ({ name: ctx.missing }) });
// @ts-expect-error a route whose data is not PresenceEvent<M> has no presence
base.routes.onMessage.presence({ filter: 'byRoom', member: (ctx: Ctx) => ({ name: ctx.name }) });

const publisher = app.publisher();
const members: Promise<Array<PresenceMember<Member>>> = publisher.routes.members.members({ input: { room: 'a', floor: 1 } });
const count: Promise<number> = publisher.routes.members.countMembers({ input: { room: 'a', floor: 1 } });
// @ts-expect-error a room needs every field of the presence filter
void publisher.routes.members.members({ input: { room: 'a' } });
// @ts-expect-error field values are typed by the route's input
void publisher.routes.members.countMembers({ input: { room: 'a', floor: '1' } });
// @ts-expect-error a route without presence has no members()
void publisher.routes.onMessage.members({ input: { room: 'a' } });
// @ts-expect-error nor before presence() is declared
void base.publisher().routes.members.members({ input: { room: 'a', floor: 1 } });

// The client folds the route's events, typed by its member.
const state = applyPresence(emptyPresence<Member>(), { type: 'join', member: { key: 'user:u', data: { name: 'n' }, version: 1 } });
const name: string | undefined = state.members.get('user:u')?.data.name;
// @ts-expect-error events carry the route's member type
applyPresence(emptyPresence<Member>(), { type: 'join', member: { key: 'user:u', data: { nickname: 'n' }, version: 1 } });

void members;
void count;
void name;
