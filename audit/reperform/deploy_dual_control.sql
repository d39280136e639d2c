-- deploy.dual_control, re-performed: did at least :required_approvers distinct people approve
-- the change (PR approvers plus deployment approvers), leaving out the run's actor, its
-- triggering actor and the PR author? Logins compare case-insensitively.
-- PR and PR approver as in change_reviewed.sql; a deployment approver: an `approved` entry of
-- the run's approvals naming the deployment's environment.
--   pass           enough distinct people approved
--   not_available  too few, and the PR, its reviews or the approvals were never captured
--   fail           too few
-- Parameters: :quarter, e.g. '2024Q2'; :required_approvers, e.g. 2
with deployment as (
    select p.repository, p.run_id, p.environment, r.actor, r.triggering_actor,
           cp.sha is not null as pulls_captured,
           exists (select 1 from run_captures c where c.repository = p.repository and c.run_id = p.run_id
                   and c.what = 'approvals') as approvals_captured,
           coalesce(
               (select pr.number
                  from json_each(cp.pr_numbers) listed
                  join pull_requests pr on pr.repository = p.repository and pr.number = listed.value
                 where coalesce(pr.merged_at, '') != '' and pr.merge_commit_sha = r.head_sha
                 order by listed.key limit 1),
               (select pr.number
                  from json_each(cp.pr_numbers) listed
                  join pull_requests pr on pr.repository = p.repository and pr.number = listed.value
                 where coalesce(pr.merged_at, '') != ''
                 order by listed.key limit 1)) as pr_number
    from population p
    join workflow_runs r on r.repository = p.repository and r.run_id = p.run_id
    left join commit_pulls cp on cp.repository = p.repository and cp.sha = r.head_sha
    where p.quarter = :quarter
),
with_author as materialized (
    select d.repository, d.run_id, d.environment, d.actor, d.triggering_actor, d.approvals_captured,
           d.pr_number, pr.author as pr_author,
           d.pulls_captured and (d.pr_number is null or pr.reviews_captured_at is not null) as pulls_captured
    from deployment d
    left join pull_requests pr on pr.repository = d.repository and pr.number = d.pr_number
),
latest_reviews as (
    select rv.repository, rv.pr_number, lower(rv.user) as reviewer, rv.state,
           row_number() over (partition by rv.repository, rv.pr_number, lower(rv.user)
                              order by rv.submitted_at desc, rv.review_id desc) as recency
    from reviews rv
    join pull_requests pr on pr.repository = rv.repository and pr.number = rv.pr_number
    where rv.user is not null
      and lower(rv.user) is not lower(pr.author)
      and upper(rv.state) not in ('COMMENTED', 'PENDING')
),
-- one row per deployment and approving person (null: the deployment itself, so that a
-- deployment nobody approved still counts zero)
approvers as (
    select d.repository, d.run_id, d.environment, d.pulls_captured, d.approvals_captured, null as login,
           d.actor, d.triggering_actor, d.pr_author
    from with_author d
    union
    select d.repository, d.run_id, d.environment, d.pulls_captured, d.approvals_captured, a.reviewer,
           d.actor, d.triggering_actor, d.pr_author
    from with_author d
    join latest_reviews a on a.repository = d.repository and a.pr_number = d.pr_number
    where a.recency = 1 and upper(a.state) = 'APPROVED'
    union
    select d.repository, d.run_id, d.environment, d.pulls_captured, d.approvals_captured, lower(ap.user),
           d.actor, d.triggering_actor, d.pr_author
    from with_author d
    join approvals ap on ap.repository = d.repository and ap.run_id = d.run_id
    where ap.user is not null and lower(ap.state) = 'approved'
      and exists (select 1 from json_each(ap.environments) e where lower(e.value) = lower(d.environment))
),
counted as (
    select repository, run_id, environment, pulls_captured, approvals_captured,
           count(case when login is not lower(actor) and login is not lower(triggering_actor)
                           and login is not lower(pr_author) then login end) as independent_approvers
    from approvers
    group by repository, run_id, environment
)
select repository, run_id, environment,
  case
    when independent_approvers >= cast(:required_approvers as integer) then 'pass'
    when not pulls_captured or not approvals_captured then 'not_available'
    else 'fail'
  end as verdict
from counted
order by repository, run_id, environment;
