-- deploy.timely, re-performed: was the deployment approved within the window?
-- GitHub's approvals carry no timestamp: the request is the first `waiting` status of the
-- production deployment, the approval the status right after it when that one is `queued`
-- or `in_progress` (statuses ordered by created_at, then by lifecycle: waiting, pending, queued,
-- in_progress, then the rest, as audit/evidence.py `approval_times` orders them).
--   not_applicable  approvals captured and nobody approved the environment
--   not_available   the deployment statuses were never captured (lost to retention)
--   not_available   approved, but the statuses do not show the request or the approval
--   not_applicable  not approved and nothing to time
--   pass / fail     approval - request <= :approval_window_minutes (the boundary passes)
-- Parameters: :quarter, e.g. '2024Q2'; :approval_window_minutes, e.g. 120
with deployment as (
    select p.repository, p.run_id, p.environment, p.deployment_id, d.statuses_captured_at,
           exists (select 1 from run_captures c where c.repository = p.repository and c.run_id = p.run_id
                   and c.what = 'approvals') as approvals_captured,
           exists (select 1 from approvals a, json_each(a.environments) e
                   where a.repository = p.repository and a.run_id = p.run_id
                     and lower(a.state) = 'approved' and lower(e.value) = lower(p.environment)) as approved
    from population p
    join deployments d on d.deployment_id = p.deployment_id
    where p.quarter = :quarter
),
ordered as (
    select s.deployment_id, s.state, s.created_at,
           lead(s.state) over w as next_state,
           lead(s.created_at) over w as next_created_at,
           sum(s.state = 'waiting') over w as waiting_seen
    from deployment d
    join deployment_statuses s on s.deployment_id = d.deployment_id
    window w as (partition by s.deployment_id order by s.created_at is null, s.created_at,
                 case s.state when 'waiting' then 0 when 'pending' then 1 when 'queued' then 2
                              when 'in_progress' then 3 else 4 end)
),
times as (
    select deployment_id, max(created_at) as requested_at,
           max(case when next_state in ('queued', 'in_progress') then next_created_at end) as approved_at
    from ordered
    where state = 'waiting' and waiting_seen = 1
    group by deployment_id
)
select d.repository, d.run_id, d.environment,
  case
    when d.approvals_captured and not d.approved then 'not_applicable'
    when d.statuses_captured_at is null then 'not_available'
    when t.requested_at is null or t.approved_at is null then
      case when d.approved then 'not_available' else 'not_applicable' end
    when strftime('%s', t.approved_at) - strftime('%s', t.requested_at) <= :approval_window_minutes * 60 then 'pass'
    else 'fail'
  end as verdict
from deployment d
left join times t on t.deployment_id = d.deployment_id
order by d.repository, d.run_id, d.environment;
