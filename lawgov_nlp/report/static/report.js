(function(){
  function q(s){return Array.prototype.slice.call(document.querySelectorAll(s));}
  function apply(){
    var dims={}; q('input.fd').forEach(function(e){dims[e.value]=e.checked;});
    var r=document.querySelector('input[name=role]:checked'); var role=r?r.value:'*';
    var onlyProb=document.getElementById('onlyprob').checked;
    var hide=document.getElementById('hideoff').checked;
    var shown=0;
    q('.text .s').forEach(function(e){
      var ok=dims[e.getAttribute('data-d')]!==false && (role==='*'||e.getAttribute('data-r')===role)
             && (!onlyProb||e.getAttribute('data-p')==='1');
      e.classList.toggle('off',!ok); e.classList.toggle('gone',!ok&&hide); if(ok)shown++;
    });
    var c=document.getElementById('shown'); if(c)c.textContent=shown;
  }
  q('.toolbar input').forEach(function(e){e.addEventListener('change',apply);});
  var all=document.getElementById('dimall'), none=document.getElementById('dimnone');
  if(all)all.addEventListener('click',function(){q('input.fd').forEach(function(e){e.checked=true;});apply();});
  if(none)none.addEventListener('click',function(){q('input.fd').forEach(function(e){e.checked=false;});apply();});
  apply();
})();
