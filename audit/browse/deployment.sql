-- Everything the store holds about one deployment's run, one row per evidence row:
-- the run, its jobs, environment approvals, the production deployment and its statuses,
-- the deployed commit's pull request and reviews, artifacts and scan findings, and every
-- stored verdict. `evidence` names the table, `id` the row's key there.
-- Parameters: :repository, e.g. 'acme-fintech/ledger'; :run_id, e.g. 9000000775
with run as (
    select * from workflow_runs where repository = :repository and run_id = :run_id
),
pulls as (
    select pr.* from run
    join commit_pulls cp on cp.repository = run.repository and cp.sha = run.head_sha
    join json_each(cp.pr_numbers) listed
    join pull_requests pr on pr.repository = run.repository and pr.number = listed.value
)
select 'workflow_runs' as evidence, run_id as id, created_at as at,
       json_object('attempt', run_attempt, 'event', event, 'branch', head_branch, 'sha', head_sha,
                   'actor', actor, 'triggering_actor', triggering_actor, 'url', html_url) as detail
from run
union all
select 'jobs', job_id, started_at,
       json_object('name', name, 'attempt', run_attempt, 'conclusion', conclusion, 'completed_at', completed_at)
from jobs where repository = :repository and run_id = :run_id
union all
select 'approvals', seq, captured_at,
       json_object('user', user, 'state', state, 'environments', json(environments), 'comment', comment)
from approvals where repository = :repository and run_id = :run_id
union all
select 'run_captures', what, captured_at, json_object('detail', detail)
from run_captures where repository = :repository and run_id = :run_id
union all
select 'deployments', deployment_id, created_at,
       json_object('environment', environment, 'sha', sha, 'job_id', job_id, 'run_link', run_link,
                   'statuses_captured_at', statuses_captured_at)
from deployments where repository = :repository and run_id = :run_id
union all
select 'deployment_statuses', coalesce(s.status_id, s.node_id), s.created_at, json_object('state', s.state, 'creator', s.creator)
from deployment_statuses s join deployments d on d.deployment_id = s.deployment_id
where d.repository = :repository and d.run_id = :run_id
union all
select 'pull_requests', number, merged_at,
       json_object('title', title, 'author', author, 'merge_commit_sha', merge_commit_sha, 'url', html_url)
from pulls
union all
select 'reviews', r.review_id, r.submitted_at, json_object('pr', r.pr_number, 'user', r.user, 'state', r.state)
from reviews r join pulls p on p.repository = r.repository and p.number = r.pr_number
union all
select 'artifacts', artifact_id, created_at,
       json_object('name', name, 'capture_status', capture_status, 'scan_format', scan_format, 'sha256', sha256)
from artifacts where repository = :repository and run_id = :run_id
union all
select 'scan_findings', f.artifact_id || ':' || f.seq, null,
       json_object('tool', f.tool, 'severity', f.severity, 'rule_id', f.rule_id, 'location', f.location)
from scan_findings f join artifacts a on a.artifact_id = f.artifact_id
where a.repository = :repository and a.run_id = :run_id
union all
select 'verdicts', quarter || ' ' || environment || ' ' || control_id, null,
       json_object('verdict', verdict, 'detail', detail, 'evidence', json(evidence))
from verdicts where repository = :repository and run_id = :run_id;
